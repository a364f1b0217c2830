// The shape each cached object is kept in: what the operator reads of it, and nothing else. The
// informers apply these before an object enters the cache (CacheTransform, as client-go's
// SetTransform and controller-runtime's TransformStripManagedFields), so a cluster's pods cost
// the operator their names, markers, owners and proxy containers, not their whole manifests.
//
// What is read, and so kept (with apiVersion and kind, as sent):
// - every object: all but metadata.managedFields (nothing reads it; on a pod it is often the
//   largest part);
// - Pods (podObservation, the mesh drivers' membership and revision tests, the double-mesh
//   check): metadata name, namespace, uid, resourceVersion, labels, annotations, ownerReferences,
//   deletionTimestamp; spec.containers and spec.initContainers by name and image (and an init
//   container's restartPolicy: a native sidecar), spec.hostNetwork; status.phase; the istio-proxy's
//   env names and its ISTIO_META_ENABLE_HBONE value (the ambient preflight's HBONE check);
// - Deployments, StatefulSets, DaemonSets (workload facts, rollout state, the preflight, the
//   control planes' readiness, Linkerd's default inbound policy from linkerd-destination's
//   arguments): metadata name, namespace, uid, resourceVersion, generation, labels, annotations,
//   deletionTimestamp; spec.replicas; the pod template's labels and annotations, hostNetwork,
//   serviceAccountName, automountServiceAccountToken and containers by name, image and args;
//   status's rollout counters and revisions;
// - MutatingWebhookConfigurations: all but the CA bundles;
// - Namespaces, MeshMigrations, the guard's policy and binding, PeerAuthentications,
//   AuthorizationPolicies, Linkerd's policies and Gateways: all but managedFields;
// - the other mesh objects the ambient preflight reads (policyShape): their names, what they
//   attach to (selector, targetRefs) and the few spec fields it reads, not their payloads (an
//   EnvoyFilter's patches, a WasmPlugin's config, a RequestAuthentication's JWKS, routes);
//   Services: name, namespace and labels.
// test/unit/controller/cache-shapes.test.ts runs the planner on the real fixtures' pods and
// workloads whole and shaped, records every field it reads, and checks each survives.
import type * as k8s from "@kubernetes/client-node";
import { ISTIO_PROXY_CONTAINER } from "../meshes/istio.ts";
import type { PolicyObjects } from "../preflight/index.ts";
import { HBONE_ENV } from "../preflight/istio-hbone-capable.ts";

type Json = Record<string, unknown>;

/** The set keys of `from` among `keys`: an absent key stays absent (no `key: undefined`). */
function pick<T extends object>(from: T | undefined, keys: readonly (keyof T)[]): Partial<T> | undefined {
  if (from === undefined || from === null) return undefined;
  const out: Partial<T> = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out;
}

/** `value` without its undefined entries. */
function defined<T extends Json>(value: T): T {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}

/** Any object without metadata.managedFields. */
export function withoutManagedFields<T extends k8s.KubernetesObject>(obj: T): T {
  const metadata = obj.metadata;
  if (!metadata || metadata.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...rest } = metadata;
  return { ...obj, metadata: rest };
}

const POD_METADATA = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "labels",
  "annotations",
  "deletionTimestamp",
] as const satisfies readonly (keyof k8s.V1ObjectMeta)[];

const OWNER_REFERENCE = [
  "apiVersion",
  "kind",
  "name",
  "uid",
  "controller",
] as const satisfies readonly (keyof k8s.V1OwnerReference)[];

function ownerReferences(refs: k8s.V1OwnerReference[] | undefined): k8s.V1OwnerReference[] | undefined {
  return refs?.map((ref) => pick(ref, OWNER_REFERENCE) as k8s.V1OwnerReference);
}

/**
 * The istio-proxy's env as the preflight reads it: every variable's name (it looks one up by
 * name), and the value of ISTIO_META_ENABLE_HBONE only.
 */
function proxyEnv(container: k8s.V1Container): k8s.V1EnvVar[] | undefined {
  if (container.name !== ISTIO_PROXY_CONTAINER || container.env === undefined) return undefined;
  return container.env.map((variable) =>
    variable.name === HBONE_ENV
      ? defined({ name: variable.name, value: variable.value })
      : { name: variable.name },
  );
}

/** A Pod as the planner reads it (see the list at the top). */
export function podShape(pod: k8s.V1Pod): k8s.V1Pod {
  const spec = pod.spec;
  const metadata = pick(pod.metadata, POD_METADATA);
  return defined({
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata:
      metadata && defined({ ...metadata, ownerReferences: ownerReferences(pod.metadata?.ownerReferences) }),
    spec:
      spec &&
      defined({
        containers: spec.containers?.map((c) => defined({ name: c.name, image: c.image, env: proxyEnv(c) })),
        initContainers: spec.initContainers?.map((c) =>
          defined({ name: c.name, image: c.image, restartPolicy: c.restartPolicy, env: proxyEnv(c) }),
        ),
        hostNetwork: spec.hostNetwork,
      }),
    status: pod.status && defined({ phase: pod.status.phase }),
  });
}

type Workload = k8s.V1Deployment | k8s.V1StatefulSet | k8s.V1DaemonSet;

const WORKLOAD_METADATA = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "labels",
  "annotations",
  "deletionTimestamp",
] as const satisfies readonly (keyof k8s.V1ObjectMeta)[];

/** Every rollout counter and revision the workload facts and control-plane checks read, of all three kinds. */
const WORKLOAD_STATUS = [
  "observedGeneration",
  "replicas",
  "updatedReplicas",
  "readyReplicas",
  "availableReplicas",
  "currentRevision",
  "updateRevision",
  "desiredNumberScheduled",
  "updatedNumberScheduled",
  "numberReady",
  "numberAvailable",
  "numberUnavailable",
] as const;

/** A Deployment, StatefulSet or DaemonSet as the planner and the preflight read it (see the top). */
export function workloadShape<W extends Workload>(workload: W): W {
  const template = workload.spec?.template;
  const podSpec = template?.spec;
  const spec = workload.spec as (Json & { replicas?: number }) | undefined;
  return defined({
    apiVersion: workload.apiVersion,
    kind: workload.kind,
    metadata: pick(workload.metadata, WORKLOAD_METADATA),
    spec:
      spec &&
      defined({
        replicas: spec.replicas,
        template:
          template &&
          defined({
            metadata: template.metadata && pick(template.metadata, ["labels", "annotations"]),
            spec:
              podSpec &&
              defined({
                hostNetwork: podSpec.hostNetwork,
                serviceAccountName: podSpec.serviceAccountName,
                automountServiceAccountToken: podSpec.automountServiceAccountToken,
                containers: podSpec.containers?.map((c) =>
                  defined({ name: c.name, image: c.image, args: c.args }),
                ),
              }),
          }),
      }),
    status: pick(workload.status as Json | undefined, WORKLOAD_STATUS),
  }) as W;
}

/** A MutatingWebhookConfiguration without managedFields and CA bundles. */
export function webhookShape(config: k8s.V1MutatingWebhookConfiguration): k8s.V1MutatingWebhookConfiguration {
  const shaped = withoutManagedFields(config);
  if (!shaped.webhooks?.some((w) => w.clientConfig?.caBundle !== undefined)) return shaped;
  return {
    ...shaped,
    webhooks: shaped.webhooks.map((webhook) => {
      const { caBundle: _dropped, ...clientConfig } = webhook.clientConfig ?? {};
      return { ...webhook, clientConfig };
    }),
  };
}

const POLICY_METADATA = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
] as const satisfies readonly (keyof k8s.V1ObjectMeta)[];
/** What an Istio object attaches to: a workload selector, or targetRef(s). */
const ATTACHMENT = ["selector", "targetRef", "targetRefs"] as const;

type SpecPick = (spec: Json) => Json;

/** The object with its name and only the spec fields `pickSpec` keeps. */
function specShape(pickSpec: SpecPick): (obj: k8s.KubernetesObject) => k8s.KubernetesObject {
  return (obj) => {
    const spec = (obj as { spec?: Json }).spec;
    return defined({
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: pick(obj.metadata, POLICY_METADATA),
      spec: spec && defined(pickSpec(spec)),
    });
  };
}

const only =
  (...keys: string[]): SpecPick =>
  (spec) =>
    pick(spec, keys) ?? {};

/** Each list entry cut to the given keys (an HTTP route to its name, a subset to its name). */
function entries(list: unknown, keys: string[]): Json[] | undefined {
  return Array.isArray(list) ? list.map((entry) => pick(entry as Json, keys) ?? {}) : undefined;
}

/** An EnvoyFilter's patches, each down to what it changes and which proxies it matches. */
function patches(list: unknown): Json[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.map((patch: Json) => {
    const match = patch?.match as Json | undefined;
    return defined({ applyTo: patch?.applyTo, match: match && defined({ context: match.context }) });
  });
}

const POLICY_SHAPES: Partial<
  Record<keyof PolicyObjects, (obj: k8s.KubernetesObject) => k8s.KubernetesObject>
> = {
  requestAuthentications: specShape(only(...ATTACHMENT)),
  wasmPlugins: specShape(only(...ATTACHMENT)),
  telemetries: specShape(only(...ATTACHMENT, "tracing", "accessLogging", "metrics")),
  envoyFilters: specShape((spec) =>
    defined({
      workloadSelector: spec.workloadSelector,
      targetRefs: spec.targetRefs,
      configPatches: patches(spec.configPatches),
    }),
  ),
  virtualServices: specShape((spec) =>
    defined({ hosts: spec.hosts, gateways: spec.gateways, http: entries(spec.http, ["name"]) }),
  ),
  destinationRules: specShape((spec) =>
    defined({ host: spec.host, subsets: entries(spec.subsets, ["name"]) }),
  ),
  serviceIntentions: specShape((spec) =>
    defined({
      destination: pick(spec.destination as Json | undefined, ["name"]),
      sources: Array.isArray(spec.sources)
        ? spec.sources.map((source: Json) =>
            defined({
              ...pick(source, ["name", "action", "peer", "partition", "samenessGroup"]),
              // Only whether it has L7 permissions: an allow for some requests.
              permissions:
                Array.isArray(source?.permissions) && source.permissions.length > 0 ? [{}] : undefined,
            }),
          )
        : undefined,
    }),
  ),
  consulServiceDefaults: specShape(only("mutualTLSMode")),
  consulProxyDefaults: specShape(only("mutualTLSMode")),
  consulMeshes: specShape(only("transparentProxy", "allowEnablingPermissiveMutualTLS")),
  services: (service) =>
    defined({
      apiVersion: service.apiVersion,
      kind: service.kind,
      metadata: pick(service.metadata, [...POLICY_METADATA, "labels"]),
    }),
};

/** The cache shape of one policy resource's objects: its own shape, or everything but managedFields. */
export function policyShape(field: keyof PolicyObjects): (obj: k8s.KubernetesObject) => k8s.KubernetesObject {
  return POLICY_SHAPES[field] ?? withoutManagedFields;
}
