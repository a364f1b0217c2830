// IstioSidecarWithoutHBONE: Istio's guide has every sidecar speak HBONE before the first ambient
// pod appears. A sidecar speaks HBONE when its istio-proxy runs with ISTIO_META_ENABLE_HBONE=true,
// which the injector copies from meshConfig.defaultConfig.proxyMetadata (Istio's ambient profile
// sets it; istioctl's own ambient precheck reads the same variable). Pods injected before that
// lack it until they restart, and they and the ambient pods reach each other in plaintext, which
// STRICT mTLS refuses and principal-based policy no longer matches. Counted: every pod an Istio
// injector added a proxy to (sidecar.istio.io/status; ingress gateways included, ztunnel and
// waypoints not), in every namespace, the moving ones included (their old pods call the new
// ones while they restart).
import type { MigrationWarning } from "../api/schema.ts";
import type { MeshRef } from "../meshes/driver.ts";
import { ISTIO_PROXY_CONTAINER, SIDECAR_STATUS_ANNOTATION } from "../meshes/istio.ts";
import { proxyPlacement } from "../meshes/pod-facts.ts";
import { listNames, movingNamespaces } from "./boundary.ts";
import type { EnvVarLike, PreflightInput, PreflightPod } from "./input.ts";

export const HBONE_ENV = "ISTIO_META_ENABLE_HBONE";
/** What Go's strconv.ParseBool reads as true, as the Istio agent parses the variable. */
const TRUE_VALUES: ReadonlySet<string> = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FINISHED_PHASES: ReadonlySet<string> = new Set(["Succeeded", "Failed"]);

/** The env of the pod's istio-proxy, wherever it runs; undefined when it has none. */
function proxyEnv(pod: PreflightPod): readonly EnvVarLike[] | undefined {
  const placement = proxyPlacement(pod, ISTIO_PROXY_CONTAINER);
  if (placement === undefined) return undefined;
  const containers = placement === "container" ? pod.spec?.containers : pod.spec?.initContainers;
  return containers?.find((c) => c.name === ISTIO_PROXY_CONTAINER)?.env ?? [];
}

/** A running pod an Istio injector gave a proxy that does not speak HBONE. */
export function injectedWithoutHbone(pod: PreflightPod): boolean {
  if (pod.metadata?.annotations?.[SIDECAR_STATUS_ANNOTATION] === undefined) return false;
  if (pod.metadata.deletionTimestamp || FINISHED_PHASES.has(pod.status?.phase ?? "")) return false;
  const env = proxyEnv(pod);
  if (env === undefined) return false;
  const hbone = env.find((variable) => variable.name === HBONE_ENV);
  return !TRUE_VALUES.has(hbone?.value ?? "");
}

interface NamespacePods {
  namespace: string;
  pods: string[];
}

function withoutHbone(input: PreflightInput): NamespacePods[] {
  const podsIn = input.podsIn;
  if (podsIn === undefined) return [];
  return [...input.namespaces]
    .filter(([, ns]) => ns.terminating !== true)
    .map(([namespace]) => ({
      namespace,
      pods: podsIn(namespace)
        .filter(injectedWithoutHbone)
        .map((pod) => pod.metadata?.name ?? "?"),
    }))
    .filter((found) => found.pods.length > 0)
    .sort((a, b) => a.namespace.localeCompare(b.namespace));
}

function described(found: NamespacePods, moving: ReadonlySet<string>): string {
  const role = moving.has(found.namespace) ? "moves" : "stays";
  const count = `${found.pods.length} pod${found.pods.length === 1 ? "" : "s"}`;
  return `${found.namespace} (${role}; ${count}: ${listNames(found.pods, 3)})`;
}

/** Whether the preflight reads the pods of every namespace, not only the moving ones' (podsIn). */
export function preflightReadsAllPods(target: MeshRef): boolean {
  return target.mesh === "istio-ambient";
}

export function istioHboneWarnings(input: PreflightInput): MigrationWarning[] {
  if (!preflightReadsAllPods(input.target)) return [];
  const found = withoutHbone(input);
  if (found.length === 0) return [];
  const moving = new Set(movingNamespaces(input).map((ns) => ns.name));
  const total = found.reduce((sum, ns) => sum + ns.pods.length, 0);
  return [
    {
      code: "IstioSidecarWithoutHBONE",
      severity: "Warning",
      message:
        `${total} Istio sidecar pod${total === 1 ? "" : "s"} cannot speak HBONE (their ${ISTIO_PROXY_CONTAINER} runs ` +
        `without ${HBONE_ENV}=true): ${listNames(
          found.map((ns) => described(ns, moving)),
          5,
        )}. Once pods are in istio-ambient, these sidecars and the ambient pods reach each other in plaintext: ` +
        "STRICT PeerAuthentication refuses it and AuthorizationPolicy rules on principals or namespaces no longer " +
        "match. Fix: upgrade Istio to the ambient profile (it sets meshConfig.defaultConfig.proxyMetadata." +
        `${HBONE_ENV}: "true"), then restart these workloads (kubectl rollout restart) before the first namespace ` +
        "moves, as Istio's migration guide asks.",
    },
  ];
}
