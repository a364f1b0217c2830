// Linkerd: namespaces enroll by annotation, pods get a linkerd-proxy at admission.
import type { MeshDriver } from "./driver.ts";
import { markerValue, removeMarkers, setMarker } from "./markers.ts";
import { hasProxy } from "./pod-facts.ts";

export const LINKERD_INJECT_ANNOTATION = "linkerd.io/inject";
export const DEFAULT_INBOUND_POLICY_ANNOTATION = "config.linkerd.io/default-inbound-policy";
/** `disabled` keeps the namespace out of every Linkerd admission webhook, the injector included. */
export const ADMISSION_WEBHOOKS_LABEL = "config.linkerd.io/admission-webhooks";
export const LINKERD_PROXY_CONTAINER = "linkerd-proxy";
const LINKERD_NAMESPACE = "linkerd";
const INJECTING_VALUES = ["enabled", "ingress"];

export const linkerdDriver: MeshDriver = {
  name: "linkerd",
  // The policy annotation and webhook label are recorded and restored, never set by us.
  namespaceLabelKeys: [ADMISSION_WEBHOOKS_LABEL],
  namespaceAnnotationKeys: [LINKERD_INJECT_ANNOTATION, DEFAULT_INBOUND_POLICY_ANNOTATION],
  templateMarkerKeys: { labels: [], annotations: [LINKERD_INJECT_ANNOTATION] },
  joinRequiresRestart: true,
  leaveRequiresRestart: true,

  enroll() {
    return setMarker("annotation", LINKERD_INJECT_ANNOTATION, "enabled");
  },

  unenroll(_ref, current) {
    return removeMarkers({ annotations: [LINKERD_INJECT_ANNOTATION] }, current);
  },

  namespaceEnrolled(ns) {
    const inject = markerValue(ns, "annotation", LINKERD_INJECT_ANNOTATION);
    const webhooksOff = markerValue(ns, "label", ADMISSION_WEBHOOKS_LABEL) === "disabled";
    return inject !== undefined && INJECTING_VALUES.includes(inject) && !webhooksOff;
  },

  isMember(pod) {
    return hasProxy(pod, LINKERD_PROXY_CONTAINER);
  },

  templateOptIns(template) {
    // Only the pod template's annotation counts; Linkerd ignores it on the workload's own metadata.
    const value = markerValue(template, "annotation", LINKERD_INJECT_ANNOTATION);
    if (value === undefined) return [];
    if (INJECTING_VALUES.includes(value)) {
      return [{ kind: "annotation", key: LINKERD_INJECT_ANNOTATION, value, optsIn: true }];
    }
    if (value === "disabled") {
      return [{ kind: "annotation", key: LINKERD_INJECT_ANNOTATION, value, optsIn: false }];
    }
    return [];
  },

  controlPlane() {
    const deployment = (name: string) => ({
      kind: "Deployment" as const,
      namespace: LINKERD_NAMESPACE,
      names: [name],
      hint: `Install the Linkerd control plane (Deployment ${name} in ${LINKERD_NAMESPACE}) and wait until it is available.`,
    });
    return [
      deployment("linkerd-destination"),
      deployment("linkerd-identity"),
      deployment("linkerd-proxy-injector"),
      {
        kind: "MutatingWebhookConfiguration",
        names: ["linkerd-proxy-injector-webhook-config"],
        hint: "Install Linkerd's proxy injector webhook; without it pods start unmeshed, silently (failurePolicy Ignore).",
      },
    ];
  },

  optInMarker() {
    return { kind: "annotation", key: LINKERD_INJECT_ANNOTATION, value: "enabled", optsIn: true };
  },

  optOutMarker() {
    return { kind: "annotation", key: LINKERD_INJECT_ANNOTATION, value: "disabled", optsIn: false };
  },
  controlPlaneNamespace: LINKERD_NAMESPACE,
  trustDomain: { id: "linkerd", name: "Linkerd" },
  admission: {
    cel: `variables.proxies.exists(n, n == '${LINKERD_PROXY_CONTAINER}')`,
    verb: "carries",
    what: `${LINKERD_PROXY_CONTAINER} (Linkerd)`,
    remedy: "the Linkerd opt-in or namespace marker",
  },
  memberMarks() {
    return { containers: [LINKERD_PROXY_CONTAINER], annotations: {} };
  },
};
