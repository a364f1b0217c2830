// Istio ambient: namespaces enroll by label, istio-cni captures pods at runtime (no restart).
import type { MeshDriver, TemplateOptIn } from "./driver.ts";
import { markerValue, removeMarkers, setMarker } from "./markers.ts";
import { podAnnotation } from "./pod-facts.ts";

export const DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode";
export const USE_WAYPOINT_LABEL = "istio.io/use-waypoint";
/** Set by the istio-cni node agent once a pod's traffic is redirected: actual enrollment. */
export const REDIRECTION_ANNOTATION = "ambient.istio.io/redirection";
const ISTIO_NAMESPACE = "istio-system";

/** A label's value in CEL, or '' when absent. */
function celLabel(obj: string, key: string): string {
  return `(has(${obj}.metadata.labels) && '${key}' in ${obj}.metadata.labels ? ${obj}.metadata.labels['${key}'] : '')`;
}

export const istioAmbientDriver: MeshDriver = {
  name: "istio-ambient",
  // use-waypoint is recorded and restored with the namespace, never set by us.
  namespaceLabelKeys: [DATAPLANE_MODE_LABEL, USE_WAYPOINT_LABEL],
  namespaceAnnotationKeys: [],
  templateMarkerKeys: { labels: [DATAPLANE_MODE_LABEL], annotations: [] },
  joinRequiresRestart: false,
  leaveRequiresRestart: false,
  // istio-cni skips pods that carry an Istio sidecar (sidecar.istio.io/status), and nothing else.
  skipsPodsMeshedBy: ["istio"],

  enroll() {
    return setMarker("label", DATAPLANE_MODE_LABEL, "ambient");
  },

  unenroll(_ref, current) {
    return removeMarkers({ labels: [DATAPLANE_MODE_LABEL] }, current);
  },

  namespaceEnrolled(ns) {
    return markerValue(ns, "label", DATAPLANE_MODE_LABEL) === "ambient";
  },

  isMember(pod) {
    // The dataplane-mode label is intent; only the runtime annotation shows capture happened.
    return podAnnotation(pod, REDIRECTION_ANNOTATION) === "enabled";
  },

  templateOptIns(template) {
    const value = markerValue(template, "label", DATAPLANE_MODE_LABEL);
    const optsIn = value === "ambient" ? true : value === "none" ? false : undefined;
    if (value === undefined || optsIn === undefined) return [];
    const found: TemplateOptIn = { kind: "label", key: DATAPLANE_MODE_LABEL, value, optsIn };
    return [found];
  },

  controlPlane() {
    return [
      {
        kind: "DaemonSet",
        namespace: ISTIO_NAMESPACE,
        names: ["ztunnel"],
        hint: `Install Istio ambient (the ztunnel DaemonSet in ${ISTIO_NAMESPACE}) and wait until every node runs it.`,
      },
      {
        kind: "DaemonSet",
        namespace: ISTIO_NAMESPACE,
        names: ["istio-cni-node"],
        hint: `Install the Istio CNI node agent (DaemonSet istio-cni-node in ${ISTIO_NAMESPACE}) with ambient enabled.`,
      },
    ];
  },

  optInMarker() {
    return { kind: "label", key: DATAPLANE_MODE_LABEL, value: "ambient", optsIn: true };
  },

  optOutMarker() {
    return { kind: "label", key: DATAPLANE_MODE_LABEL, value: "none", optsIn: false };
  },
  controlPlaneNamespace: ISTIO_NAMESPACE,
  trustDomain: { id: "istio", name: "Istio" },
  admission: {
    // The pod's label wins (none opts out); otherwise the namespace's.
    cel:
      `${celLabel("object", DATAPLANE_MODE_LABEL)} == 'ambient' || ` +
      `(${celLabel("object", DATAPLANE_MODE_LABEL)} != 'none' && ${celLabel("namespaceObject", DATAPLANE_MODE_LABEL)} == 'ambient')`,
    verb: "is",
    what: `enrolled in Istio ambient (${DATAPLANE_MODE_LABEL}: ztunnel would capture it)`,
    remedy: "the ambient label",
  },
  memberMarks() {
    return { containers: [], annotations: { [REDIRECTION_ANNOTATION]: "enabled" } };
  },
};
