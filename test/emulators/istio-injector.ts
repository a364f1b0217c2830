// Istio's sidecar injector, reduced to pure functions: whether a pod that reached
// the webhook gets a sidecar, and the pod it becomes (shaped like Istio's
// kube-inject goldens: istio-init + istio-proxy, status annotation, labels).
import type { V1Container, V1ObjectMeta, V1Pod, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { ISTIO_PROXY_IMAGE } from "./names.ts";
import { podWorkload } from "./workload.ts";

export const ISTIO_PROXY = "istio-proxy";
export const ISTIO_INIT = "istio-init";
export const ISTIO_STATUS_ANNOTATION = "sidecar.istio.io/status";
const INJECT_KEY = "sidecar.istio.io/inject";
const NATIVE_SIDECAR_ANNOTATION = "sidecar.istio.io/nativeSidecar";

/** Namespaces Istio's injector never touches, whatever their labels say. */
const IGNORED_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", "local-path-storage"]);

export type InjectionDecision = { inject: true } | { inject: false; reason: string };

/**
 * The injector's own checks, for a pod the webhook selectors already sent to it.
 * The selectors (see istio-webhooks.ts) decide namespace-label and revision matters.
 */
export function decideIstioInjection(pod: V1Pod, namespace: string): InjectionDecision {
  if (pod.spec?.hostNetwork) return { inject: false, reason: "pod uses the host network" };
  if (IGNORED_NAMESPACES.has(namespace))
    return { inject: false, reason: `namespace ${namespace} is ignored` };
  if (hasIstioSidecar(pod)) return { inject: false, reason: "pod already has an Istio sidecar" };
  // The label is the newer API: when both forms are present the label wins.
  const labelValue = pod.metadata?.labels?.[INJECT_KEY];
  const choice = labelValue ?? pod.metadata?.annotations?.[INJECT_KEY] ?? "";
  const normalized = choice.toLowerCase();
  if (normalized === "") return { inject: true }; // injection policy "enabled": inject by default
  if (["y", "yes", "true", "on"].includes(normalized)) return { inject: true };
  return { inject: false, reason: `${INJECT_KEY}=${choice}` };
}

export function hasIstioSidecar(pod: V1Pod): boolean {
  const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
  return names.includes(ISTIO_PROXY) || pod.metadata?.annotations?.[ISTIO_STATUS_ANNOTATION] !== undefined;
}

export interface IstioInjectOptions {
  /** The revision that injects: "default" or e.g. "1-24". */
  revision: string;
  /** Mesh-wide default; the pod's sidecar.istio.io/nativeSidecar annotation overrides it. */
  nativeSidecars: boolean;
  /** The pod's namespace (at admission the pod object often lacks it). */
  namespace: string;
  image?: string;
}

/** The status annotation's JSON, with keys in the order Istio writes them. */
export interface IstioSidecarStatus {
  initContainers: string[] | null;
  containers: string[] | null;
  volumes: string[] | null;
  imagePullSecrets: string[] | null;
  revision: string;
}

export function injectIstioSidecar(pod: V1Pod, options: IstioInjectOptions): V1Pod {
  const image = options.image ?? ISTIO_PROXY_IMAGE;
  const native = useNativeSidecar(pod.metadata, options.nativeSidecars);
  const appContainers = pod.spec?.containers ?? [];
  const userInitContainers = pod.spec?.initContainers ?? [];
  const proxy = istioProxyContainer(pod, options.namespace, image, native);
  const init = istioInitContainer(image);
  const volumes = istioVolumes();

  const initContainers = native ? [init, proxy, ...userInitContainers] : [init, ...userInitContainers];
  const containers = native ? appContainers : [...appContainers, proxy];
  const status: IstioSidecarStatus = {
    initContainers: native ? [ISTIO_INIT, ISTIO_PROXY] : [ISTIO_INIT],
    containers: native ? null : [ISTIO_PROXY],
    volumes: volumes.map((v) => v.name),
    imagePullSecrets: null,
    revision: options.revision,
  };

  const labels = { ...(pod.metadata?.labels ?? {}) };
  labels["security.istio.io/tlsMode"] = "istio";
  labels["service.istio.io/canonical-name"] ??= canonicalName(pod.metadata);
  labels["service.istio.io/canonical-revision"] ??= canonicalRevision(pod.metadata);

  const annotations = { ...(pod.metadata?.annotations ?? {}) };
  annotations["istio.io/rev"] = options.revision;
  const firstApp = appContainers[0]?.name;
  if (firstApp) {
    annotations["kubectl.kubernetes.io/default-container"] ??= firstApp;
    annotations["kubectl.kubernetes.io/default-logs-container"] ??= firstApp;
  }
  annotations["prometheus.io/path"] ??= "/stats/prometheus";
  annotations["prometheus.io/port"] ??= "15020";
  annotations["prometheus.io/scrape"] ??= "true";
  annotations[ISTIO_STATUS_ANNOTATION] = JSON.stringify(status);

  return {
    ...pod,
    metadata: { ...pod.metadata, labels, annotations },
    spec: {
      ...pod.spec,
      initContainers,
      containers,
      volumes: [...(pod.spec?.volumes ?? []), ...volumes],
    },
  };
}

function useNativeSidecar(metadata: V1ObjectMeta | undefined, meshDefault: boolean): boolean {
  const override = metadata?.annotations?.[NATIVE_SIDECAR_ANNOTATION]?.toLowerCase();
  if (override === "true") return true;
  if (override === "false") return false;
  return meshDefault;
}

function canonicalName(metadata: V1ObjectMeta | undefined): string {
  const labels = metadata?.labels ?? {};
  return labels["app.kubernetes.io/name"] ?? labels.app ?? podWorkload(metadata).name;
}

function canonicalRevision(metadata: V1ObjectMeta | undefined): string {
  const labels = metadata?.labels ?? {};
  return labels["app.kubernetes.io/version"] ?? labels.version ?? "latest";
}

const SMALL_RESOURCES = { requests: { cpu: "10m", memory: "40Mi" } };

function istioInitContainer(image: string): V1Container {
  return {
    name: ISTIO_INIT,
    image,
    args: [
      "istio-iptables",
      "-p",
      "15001",
      "-z",
      "15006",
      "-u",
      "1337",
      "-m",
      "REDIRECT",
      "-i",
      "*",
      "-x",
      "",
      "-b",
      "*",
      "-d",
      "15090,15021,15020",
      "--log_output_level=default:info",
    ],
    resources: SMALL_RESOURCES,
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
      privileged: false,
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    },
  };
}

function istioProxyContainer(pod: V1Pod, namespace: string, image: string, native: boolean): V1Container {
  const workload = podWorkload(pod.metadata);
  const plural = `${workload.kind.toLowerCase()}s`;
  const appContainers = pod.spec?.containers ?? [];
  const podPorts = appContainers.flatMap((c) => c.ports ?? []);
  const readiness = { httpGet: { path: "/healthz/ready", port: 15021 }, timeoutSeconds: 3 };
  const container: V1Container = {
    name: ISTIO_PROXY,
    image,
    args: [
      "proxy",
      "sidecar",
      "--domain",
      "$(POD_NAMESPACE).svc.cluster.local",
      "--proxyLogLevel=warning",
      "--proxyComponentLogLevel=misc:error",
      "--log_output_level=default:info",
    ],
    env: [
      { name: "PILOT_CERT_PROVIDER", value: "istiod" },
      { name: "CA_ADDR", value: "istiod.istio-system.svc:15012" },
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "INSTANCE_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      { name: "SERVICE_ACCOUNT", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
      { name: "ISTIO_META_POD_PORTS", value: JSON.stringify(podPorts) },
      { name: "ISTIO_META_APP_CONTAINERS", value: appContainers.map((c) => c.name).join(",") },
      { name: "ISTIO_META_CLUSTER_ID", value: "Kubernetes" },
      { name: "ISTIO_META_INTERCEPTION_MODE", value: "REDIRECT" },
      { name: "ISTIO_META_WORKLOAD_NAME", value: workload.name },
      {
        name: "ISTIO_META_OWNER",
        value: `kubernetes://apis/${workload.apiVersion}/namespaces/${namespace}/${plural}/${workload.name}`,
      },
      { name: "ISTIO_META_MESH_ID", value: "cluster.local" },
      { name: "TRUST_DOMAIN", value: "cluster.local" },
    ],
    ports: [{ containerPort: 15090, name: "http-envoy-prom", protocol: "TCP" }],
    readinessProbe: { ...readiness, failureThreshold: 4, periodSeconds: 15 },
    resources: SMALL_RESOURCES,
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: 1337,
      runAsNonRoot: true,
      runAsUser: 1337,
    },
    startupProbe: { ...readiness, failureThreshold: 600, periodSeconds: 1 },
    volumeMounts: ISTIO_VOLUME_MOUNTS,
  };
  if (native) {
    container.restartPolicy = "Always";
    container.lifecycle = {
      preStop: { exec: { command: ["pilot-agent", "request", "--debug-port=15020", "POST", "drain"] } },
    };
  }
  return container;
}

const ISTIO_VOLUME_MOUNTS: V1VolumeMount[] = [
  { mountPath: "/var/run/secrets/workload-spiffe-uds", name: "workload-socket" },
  { mountPath: "/var/run/secrets/credential-uds", name: "credential-socket" },
  { mountPath: "/var/run/secrets/workload-spiffe-credentials", name: "workload-certs" },
  { mountPath: "/var/run/secrets/istio", name: "istiod-ca-cert" },
  { mountPath: "/var/run/secrets/istio/crl", name: "istio-ca-crl" },
  { mountPath: "/var/lib/istio/data", name: "istio-data" },
  { mountPath: "/etc/istio/proxy", name: "istio-envoy" },
  { mountPath: "/var/run/secrets/tokens", name: "istio-token" },
  { mountPath: "/etc/istio/pod", name: "istio-podinfo" },
];

function istioVolumes(): V1Volume[] {
  return [
    // Istio leaves these three without a source (the API server defaults them to emptyDir).
    { name: "workload-socket", emptyDir: {} },
    { name: "credential-socket", emptyDir: {} },
    { name: "workload-certs", emptyDir: {} },
    { name: "istio-envoy", emptyDir: { medium: "Memory" } },
    { name: "istio-data", emptyDir: {} },
    {
      name: "istio-podinfo",
      downwardAPI: {
        items: [
          { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
          { path: "annotations", fieldRef: { fieldPath: "metadata.annotations" } },
        ],
      },
    },
    {
      name: "istio-token",
      projected: {
        sources: [
          { serviceAccountToken: { audience: "istio-ca", expirationSeconds: 43200, path: "istio-token" } },
        ],
      },
    },
    { name: "istiod-ca-cert", configMap: { name: "istio-ca-root-cert" } },
    { name: "istio-ca-crl", configMap: { name: "istio-ca-crl", optional: true } },
  ];
}
