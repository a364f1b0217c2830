// Linkerd's proxy injector, reduced to pure functions: whether a pod is injected
// (pod annotation first, then the namespace's; never the Deployment's metadata),
// and the pod it becomes (shaped like linkerd inject's goldens).
import { createHash } from "node:crypto";
import type { V1Container, V1Pod, V1Volume } from "@kubernetes/client-node";
import type { InjectionDecision } from "./istio-injector.ts";
import { LINKERD_NAMESPACE, LINKERD_PROXY_IMAGE, LINKERD_VERSION } from "./names.ts";
import { podWorkload, type WorkloadKind } from "./workload.ts";

export const LINKERD_PROXY = "linkerd-proxy";
export const LINKERD_INIT = "linkerd-init";
export const INJECT_ANNOTATION = "linkerd.io/inject";
/** The native-sidecar override, in Linkerd's precedence: stable, then beta, then alpha (pkg/inject). */
const NATIVE_SIDECAR_ANNOTATIONS = [
  "config.linkerd.io/proxy-enable-native-sidecar",
  "config.beta.linkerd.io/proxy-enable-native-sidecar",
  "config.alpha.linkerd.io/proxy-enable-native-sidecar",
];

/** A stand-in trust anchor: only its hash and its presence in the proxy's env matter here. */
export const EMULATED_TRUST_ANCHORS =
  "-----BEGIN CERTIFICATE-----\nZW11bGF0ZWQgbGlua2VyZCB0cnVzdCBhbmNob3I=\n-----END CERTIFICATE-----\n";

const VALID_INJECT_VALUES = new Set(["", "enabled", "disabled", "ingress"]);

export type Annotations = Readonly<Record<string, string>>;

const PROXY_CONTAINER_NAMES = new Set([LINKERD_PROXY, LINKERD_INIT, "istio-proxy", "istio-init"]);

/** Linkerd's guard against double meshing: a container or init container with a proxy's name. */
export function hasExistingSidecar(pod: V1Pod): boolean {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return containers.some((c) => PROXY_CONTAINER_NAMES.has(c.name));
}

export function decideLinkerdInjection(pod: V1Pod, namespaceAnnotations: Annotations): InjectionDecision {
  if (pod.spec?.hostNetwork) return { inject: false, reason: "pod uses the host network" };
  if (hasExistingSidecar(pod)) return { inject: false, reason: "pod has a sidecar injected already" };

  const podValue = pod.metadata?.annotations?.[INJECT_ANNOTATION] ?? "";
  const namespaceValue = namespaceAnnotations[INJECT_ANNOTATION] ?? "";
  if (!VALID_INJECT_VALUES.has(namespaceValue)) {
    return { inject: false, reason: `invalid ${INJECT_ANNOTATION}=${namespaceValue} on the namespace` };
  }
  if (!VALID_INJECT_VALUES.has(podValue)) {
    return { inject: false, reason: `invalid ${INJECT_ANNOTATION}=${podValue} on the pod` };
  }
  const enabling = (value: string) => value === "enabled" || value === "ingress";
  if (enabling(namespaceValue)) {
    if (podValue === "disabled") return { inject: false, reason: "injection disabled on the pod" };
  } else if (!enabling(podValue)) {
    return { inject: false, reason: "neither the namespace nor the pod has injection enabled" };
  }

  if (pod.spec?.automountServiceAccountToken === false) {
    return { inject: false, reason: "automountServiceAccountToken is false" };
  }
  return { inject: true };
}

export interface LinkerdInjectOptions {
  /** The pod's namespace (at admission the pod object often lacks it). */
  namespace: string;
  namespaceAnnotations?: Annotations;
  /** Mesh-wide default; the native-sidecar config annotation on the pod or namespace overrides it. */
  nativeSidecars: boolean;
  image?: string;
  trustAnchorsPem?: string;
}

const OWNER_LABELS: Partial<Record<WorkloadKind, string>> = {
  Deployment: "linkerd.io/proxy-deployment",
  ReplicaSet: "linkerd.io/proxy-replicaset",
  StatefulSet: "linkerd.io/proxy-statefulset",
  DaemonSet: "linkerd.io/proxy-daemonset",
  Job: "linkerd.io/proxy-job",
};

export function injectLinkerdProxy(pod: V1Pod, options: LinkerdInjectOptions): V1Pod {
  const image = options.image ?? LINKERD_PROXY_IMAGE;
  const trustAnchors = options.trustAnchorsPem ?? EMULATED_TRUST_ANCHORS;
  const native = useNativeSidecar(pod, options.namespaceAnnotations ?? {}, options.nativeSidecars);
  const proxy = linkerdProxyContainer(pod, image, trustAnchors, native);
  const init = linkerdInitContainer(image);
  const userInitContainers = pod.spec?.initContainers ?? [];
  const appContainers = pod.spec?.containers ?? [];

  const annotations = { ...(pod.metadata?.annotations ?? {}) };
  annotations["linkerd.io/created-by"] = `linkerd/proxy-injector ${LINKERD_VERSION}`;
  annotations["linkerd.io/proxy-version"] = LINKERD_VERSION;
  annotations["linkerd.io/trust-root-sha256"] = createHash("sha256").update(trustAnchors).digest("hex");
  // The real injector's webhook path records the namespace's inject mode on a pod that inherited it
  // (found by the conformance suite; `linkerd inject` goldens, a CLI path, do not show it).
  const inherited = options.namespaceAnnotations?.[INJECT_ANNOTATION];
  if (annotations[INJECT_ANNOTATION] === undefined && inherited !== undefined) {
    annotations[INJECT_ANNOTATION] = inherited;
  }

  const labels = { ...(pod.metadata?.labels ?? {}) };
  labels["linkerd.io/control-plane-ns"] = LINKERD_NAMESPACE;
  labels["linkerd.io/workload-ns"] = options.namespace;
  const workload = podWorkload(pod.metadata);
  const ownerLabel = OWNER_LABELS[workload.kind];
  if (ownerLabel) labels[ownerLabel] = workload.name;

  return {
    ...pod,
    metadata: { ...pod.metadata, labels, annotations },
    spec: {
      ...pod.spec,
      // Native: init then proxy, before any user init container. Classic: proxy first among containers.
      initContainers: native ? [init, proxy, ...userInitContainers] : [init, ...userInitContainers],
      containers: native ? appContainers : [proxy, ...appContainers],
      volumes: [...(pod.spec?.volumes ?? []), ...linkerdVolumes()],
    },
  };
}

function useNativeSidecar(pod: V1Pod, namespaceAnnotations: Annotations, meshDefault: boolean): boolean {
  const first = (annotations: Annotations) =>
    NATIVE_SIDECAR_ANNOTATIONS.map((key) => annotations[key]).find((value) => value !== undefined);
  const override = (first(pod.metadata?.annotations ?? {}) ?? first(namespaceAnnotations))?.toLowerCase();
  if (override === "true") return true;
  if (override === "false") return false;
  return meshDefault;
}

function linkerdInitContainer(image: string): V1Container {
  return {
    name: LINKERD_INIT,
    image,
    imagePullPolicy: "IfNotPresent",
    command: ["/usr/lib/linkerd/linkerd2-proxy-init"],
    args: [
      "--incoming-proxy-port",
      "4143",
      "--outgoing-proxy-port",
      "4140",
      "--proxy-uid",
      "2102",
      "--inbound-ports-to-ignore",
      "4190,4191,4567,4568",
      "--outbound-ports-to-ignore",
      "4567,4568",
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: 65534,
      runAsNonRoot: true,
      runAsUser: 65534,
      seccompProfile: { type: "RuntimeDefault" },
    },
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: [{ mountPath: "/run", name: "linkerd-proxy-init-xtables-lock" }],
  };
}

function linkerdProxyContainer(
  pod: V1Pod,
  image: string,
  trustAnchors: string,
  native: boolean,
): V1Container {
  const inboundPorts = (pod.spec?.containers ?? [])
    .flatMap((c) => c.ports ?? [])
    .map((p) => String(p.containerPort))
    .join(",");
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  const container: V1Container = {
    name: LINKERD_PROXY,
    image,
    imagePullPolicy: "IfNotPresent",
    env: [
      { name: "_pod_name", ...field("metadata.name") },
      { name: "_pod_ns", ...field("metadata.namespace") },
      { name: "_pod_nodeName", ...field("spec.nodeName") },
      { name: "LINKERD2_PROXY_LOG", value: "warn,linkerd=info" },
      {
        name: "LINKERD2_PROXY_DESTINATION_SVC_ADDR",
        value: "linkerd-dst-headless.linkerd.svc.cluster.local.:8086",
      },
      { name: "LINKERD2_PROXY_POLICY_SVC_ADDR", value: "linkerd-policy.linkerd.svc.cluster.local.:8090" },
      { name: "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY", value: "all-unauthenticated" },
      { name: "LINKERD2_PROXY_ADMIN_LISTEN_ADDR", value: "0.0.0.0:4191" },
      { name: "LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR", value: "127.0.0.1:4140" },
      { name: "LINKERD2_PROXY_INBOUND_LISTEN_ADDR", value: "0.0.0.0:4143" },
      { name: "LINKERD2_PROXY_INBOUND_PORTS", value: inboundPorts },
      { name: "_pod_sa", ...field("spec.serviceAccountName") },
      { name: "_l5d_ns", value: LINKERD_NAMESPACE },
      { name: "_l5d_trustdomain", value: "cluster.local" },
      { name: "LINKERD2_PROXY_IDENTITY_DIR", value: "/var/run/linkerd/identity/end-entity" },
      { name: "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS", value: trustAnchors },
      { name: "LINKERD2_PROXY_IDENTITY_TOKEN_FILE", value: "/var/run/secrets/tokens/linkerd-identity-token" },
      {
        name: "LINKERD2_PROXY_IDENTITY_SVC_ADDR",
        value: "linkerd-identity-headless.linkerd.svc.cluster.local.:8080",
      },
      {
        name: "LINKERD2_PROXY_IDENTITY_LOCAL_NAME",
        value: "$(_pod_sa).$(_pod_ns).serviceaccount.identity.linkerd.cluster.local",
      },
    ],
    livenessProbe: { httpGet: { path: "/live", port: 4191 }, initialDelaySeconds: 10, timeoutSeconds: 1 },
    ports: [
      { containerPort: 4143, name: "linkerd-proxy" },
      { containerPort: 4191, name: "linkerd-admin" },
    ],
    readinessProbe: { httpGet: { path: "/ready", port: 4191 }, initialDelaySeconds: 2, timeoutSeconds: 1 },
    resources: { requests: { cpu: "10m", memory: "20Mi" } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 2102,
      seccompProfile: { type: "RuntimeDefault" },
    },
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: [
      { mountPath: "/var/run/linkerd/identity/end-entity", name: "linkerd-identity-end-entity" },
      { mountPath: "/var/run/secrets/tokens", name: "linkerd-identity-token" },
    ],
  };
  if (native) {
    container.restartPolicy = "Always";
    container.startupProbe = {
      httpGet: { path: "/ready", port: 4191 },
      failureThreshold: 120,
      periodSeconds: 1,
    };
  } else {
    // Classic sidecars hold the app containers back until the proxy is up.
    container.lifecycle = {
      postStart: { exec: { command: ["/usr/lib/linkerd/linkerd-await", "--timeout=2m", "--port=4191"] } },
    };
  }
  return container;
}

function linkerdVolumes(): V1Volume[] {
  return [
    { name: "linkerd-proxy-init-xtables-lock", emptyDir: {} },
    { name: "linkerd-identity-end-entity", emptyDir: { medium: "Memory" } },
    {
      name: "linkerd-identity-token",
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: "identity.l5d.io",
              expirationSeconds: 86400,
              path: "linkerd-identity-token",
            },
          },
        ],
      },
    },
  ];
}
