// Consul service mesh (consul-k8s): no namespace marker turns injection on. The webhook's
// namespaceSelector (a Helm value), the injector's allow/deny lists of namespace names and the
// pod annotation consul.hashicorp.com/connect-inject decide, so a namespace joins and leaves
// through its pod templates' annotations. Facts: ../shared/fixtures/meshes/consul/FACTS.md.
import type { Markers, MeshDriver, PodFacts, TemplateOptIn } from "./driver.ts";
import { celString } from "./foreign-meshes.ts";
import { markerValue, noChange } from "./markers.ts";
import { podAnnotation, podLabel } from "./pod-facts.ts";

/** The per-pod opt-in and opt-out, parsed like Go's strconv.ParseBool (FACTS.md, Pod opt-in / opt-out). */
export const CONNECT_INJECT_ANNOTATION = "consul.hashicorp.com/connect-inject";
/** Stamped by the injector as a label and as an annotation (mesh_webhook.go L446, L482). */
export const INJECT_STATUS_KEY = "consul.hashicorp.com/connect-inject-status";
export const INJECTED = "injected";
/** The Consul service name(s) a pod registers as, comma-separated on multi-port pods (FACTS.md). */
export const CONNECT_SERVICE_ANNOTATION = "consul.hashicorp.com/connect-service";
/** The per-pod transparent-proxy setting, over the namespace label's default. */
export const TRANSPARENT_PROXY_ANNOTATION = "consul.hashicorp.com/transparent-proxy";
/** Helm-rendered gateways carry it; their Envoy runs under the gateway's own container name. */
export const GATEWAY_KIND_ANNOTATION = "consul.hashicorp.com/gateway-kind";
export const DATAPLANE_CONTAINER = "consul-dataplane";
/** A multi-port pod gets consul-dataplane-<service> per service (consul_dataplane_sidecar.go L51-54). */
const DATAPLANE_PREFIX = `${DATAPLANE_CONTAINER}-`;
/** Pre-1.0 injected pods ran envoy-sidecar beside consul-sidecar (FACTS.md, CONSUL-0.x). */
const LEGACY_SIDECAR = "consul-sidecar";
/** Namespace labels Consul reads as defaults for injected pods: recorded and restored, never set by us. */
export const TRANSPARENT_PROXY_LABEL = "consul.hashicorp.com/transparent-proxy";
export const CONSUL_DNS_LABEL = "consul.hashicorp.com/consul-dns";
const CONSUL_NAMESPACE = "consul";
/**
 * The chart labels its own pods app: <chart name> (consul), and the injector's webhook skips them by
 * that label (objectSelector app NotIn [consul]; FACTS.md, Pod opt-in / opt-out).
 */
const CHART_APP_LABEL = { key: "app", value: "consul" };

const PARSE_BOOL_TRUE = ["1", "t", "T", "TRUE", "true", "True"];
const PARSE_BOOL_FALSE = ["0", "f", "F", "FALSE", "false", "False"];

/** true/false as the injector reads the annotation; undefined when absent or unparsable (it errors then). */
export function parseConnectInject(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (PARSE_BOOL_TRUE.includes(value)) return true;
  if (PARSE_BOOL_FALSE.includes(value)) return false;
  return undefined;
}

function isDataplaneName(name: string | undefined): boolean {
  return name === DATAPLANE_CONTAINER || name?.startsWith(DATAPLANE_PREFIX) === true;
}

/**
 * A consul-dataplane sidecar: in containers (first with Helm's lifecycle default, else last), or a
 * native sidecar init container (restartPolicy Always) in native mode.
 */
function hasDataplane(pod: PodFacts): boolean {
  const inContainers = (pod.spec?.containers ?? []).some((c) => isDataplaneName(c?.name));
  const native = (pod.spec?.initContainers ?? []).some(
    (c) => isDataplaneName(c?.name) && c.restartPolicy === "Always",
  );
  return inContainers || native;
}

function carriesInjectedMarker(pod: PodFacts): boolean {
  return podLabel(pod, INJECT_STATUS_KEY) === INJECTED || podAnnotation(pod, INJECT_STATUS_KEY) === INJECTED;
}

/**
 * Consul's own Helm-rendered pods, never workloads to move: gateways (gateway-kind annotation) and
 * the telemetry collector, which opts out (connect-inject "false") yet fakes the injected marker
 * and a consul-dataplane container (FACTS.md, Traps for a detector). The injector never injected
 * them: an injected pod that opted out cannot exist.
 */
export function isConsulOwnPod(pod: PodFacts): boolean {
  if (podAnnotation(pod, GATEWAY_KIND_ANNOTATION) !== undefined) return true;
  return (
    parseConnectInject(podAnnotation(pod, CONNECT_INJECT_ANNOTATION)) === false && carriesInjectedMarker(pod)
  );
}

function isMember(pod: PodFacts): boolean {
  if (isConsulOwnPod(pod)) return false;
  const legacy = (pod.spec?.containers ?? []).some((c) => c?.name === LEGACY_SIDECAR);
  return hasDataplane(pod) || carriesInjectedMarker(pod) || legacy;
}

function templateOptIns(template: Markers): TemplateOptIn[] {
  const value = markerValue(template, "annotation", CONNECT_INJECT_ANNOTATION);
  const optsIn = parseConnectInject(value);
  if (value === undefined || optsIn === undefined) return [];
  return [{ kind: "annotation", key: CONNECT_INJECT_ANNOTATION, value, optsIn }];
}

/** CEL: the pod's annotation key holds one of these values. */
function celAnnotationIn(key: string, values: readonly string[]): string {
  const map = "object.metadata.annotations";
  return `(has(${map}) && ${celString(key)} in ${map} && ${map}[${celString(key)}] in [${values.map(celString).join(", ")}])`;
}

/**
 * At admission Consul meshes a pod that carries its sidecar (it ran first), opts in by annotation
 * (Consul is yet to see it or the namespace is one its injector skips: refuse either way), or is a
 * Consul gateway running Consul's Envoy under its own name.
 */
const ADMISSION_CEL = [
  `variables.proxies.exists(n, n == ${celString(DATAPLANE_CONTAINER)} || n.startsWith(${celString(DATAPLANE_PREFIX)}))`,
  celAnnotationIn(CONNECT_INJECT_ANNOTATION, PARSE_BOOL_TRUE),
  `(has(object.metadata.annotations) && ${celString(GATEWAY_KIND_ANNOTATION)} in object.metadata.annotations)`,
].join(" || ");

/** Chart defaults: <fullname>-connect-injector, fullname being global.name or <release>-consul. */
const INJECTOR_NAMES = ["consul-connect-injector", "consul-consul-connect-injector"];

export const consulDriver: MeshDriver = {
  name: "consul",
  namespaceLabelKeys: [TRANSPARENT_PROXY_LABEL, CONSUL_DNS_LABEL],
  namespaceAnnotationKeys: [],
  templateMarkerKeys: { labels: [], annotations: [CONNECT_INJECT_ANNOTATION] },
  joinRequiresRestart: true,
  leaveRequiresRestart: true,

  // No namespace marker: a namespace joins and leaves through its pod templates' annotation.
  enroll: () => noChange(),
  unenroll: () => noChange(),
  // Whether a namespace is injected depends on Helm values and injector flags, not on its markers.
  namespaceEnrolled: () => false,
  isMember,
  templateOptIns,

  controlPlane() {
    return [
      {
        kind: "Deployment",
        namespace: CONSUL_NAMESPACE,
        names: INJECTOR_NAMES,
        hint:
          `Install Consul's connect injector (Deployment consul-connect-injector in ${CONSUL_NAMESPACE}, Helm ` +
          "value connectInject.enabled) and wait until it is available.",
      },
      {
        kind: "MutatingWebhookConfiguration",
        names: INJECTOR_NAMES,
        hint:
          "Install Consul's connect-inject webhook (MutatingWebhookConfiguration consul-connect-injector); it " +
          "fails closed, so while its injector is down no pod of an allowed namespace starts.",
      },
    ];
  },

  optInMarker() {
    return { kind: "annotation", key: CONNECT_INJECT_ANNOTATION, value: "true", optsIn: true };
  },

  optOutMarker() {
    return { kind: "annotation", key: CONNECT_INJECT_ANNOTATION, value: "false", optsIn: false };
  },
  // Gateways and the telemetry collector run in application namespaces: never a migration's to move.
  runsOwnPod: (labels) => labels[CHART_APP_LABEL.key] === CHART_APP_LABEL.value,
  controlPlaneNamespace: CONSUL_NAMESPACE,
  trustDomain: { id: "consul", name: "Consul" },
  admission: {
    cel: ADMISSION_CEL,
    verb: "is",
    what: `meshed by Consul (${DATAPLANE_CONTAINER}, ${CONNECT_INJECT_ANNOTATION}: "true" or a Consul gateway)`,
    remedy: `the ${CONNECT_INJECT_ANNOTATION} annotation`,
  },
  memberMarks() {
    return { containers: [DATAPLANE_CONTAINER], annotations: { [INJECT_STATUS_KEY]: INJECTED } };
  },
};
