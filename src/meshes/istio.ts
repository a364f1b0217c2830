// Istio in sidecar mode: namespaces enroll by label, pods get an istio-proxy at admission.
import type {
  ControlPlaneRequirement,
  Markers,
  MeshDriver,
  MeshRef,
  PodFacts,
  TemplateOptIn,
} from "./driver.ts";
import { markerValue, mergeChanges, removeMarkers, setMarker } from "./markers.ts";
import { hasProxy, podAnnotation } from "./pod-facts.ts";

export const ISTIO_INJECTION_LABEL = "istio-injection";
export const ISTIO_REVISION_KEY = "istio.io/rev";
export const SIDECAR_INJECT_KEY = "sidecar.istio.io/inject";
/** On what istiod's gateway deployment controller makes (gateways, waypoints): which controller manages it. */
export const ISTIO_MANAGED_GATEWAY_LABEL = "gateway.istio.io/managed";
export const SIDECAR_STATUS_ANNOTATION = "sidecar.istio.io/status";
export const ISTIO_PROXY_CONTAINER = "istio-proxy";
export const DEFAULT_REVISION = "default";
const ISTIO_NAMESPACE = "istio-system";

/**
 * The revision whose webhook injects pods created in this namespace, or undefined when none does.
 * Mirrors the injector webhooks' namespace selectors: `istio-injection=enabled` selects the default
 * revision and wins over `istio.io/rev`; `istio.io/rev` counts only when `istio-injection` is absent
 * (so `istio-injection=disabled` switches a revision label off too).
 */
export function namespaceRevision(ns: Markers): string | undefined {
  const injection = markerValue(ns, "label", ISTIO_INJECTION_LABEL);
  if (injection !== undefined) return injection === "enabled" ? DEFAULT_REVISION : undefined;
  const revision = markerValue(ns, "label", ISTIO_REVISION_KEY);
  return revision === "" ? undefined : revision;
}

/**
 * How the injector reads `sidecar.istio.io/inject`: YAML-style true values inject, the empty string
 * defers to the namespace, anything else keeps the sidecar out.
 */
function injectValueOptsIn(value: string): boolean | undefined {
  if (value === "") return undefined;
  return ["y", "yes", "true", "on"].includes(value.toLowerCase());
}

function templateOptIns(template: Markers): TemplateOptIn[] {
  const found: TemplateOptIn[] = [];
  // The label is read when present (even empty); the annotation only when there is no label.
  const label = markerValue(template, "label", SIDECAR_INJECT_KEY);
  const annotation = markerValue(template, "annotation", SIDECAR_INJECT_KEY);
  const inject =
    label !== undefined
      ? { kind: "label" as const, value: label }
      : annotation !== undefined
        ? { kind: "annotation" as const, value: annotation }
        : undefined;
  const optsIn = inject === undefined ? undefined : injectValueOptsIn(inject.value);
  if (inject !== undefined && optsIn !== undefined) {
    found.push({ kind: inject.kind, key: SIDECAR_INJECT_KEY, value: inject.value, optsIn });
  }
  // A revision label on the template selects that revision's object webhook.
  const revision = markerValue(template, "label", ISTIO_REVISION_KEY);
  if (revision !== undefined && revision !== "") {
    found.push({ kind: "label", key: ISTIO_REVISION_KEY, value: revision, optsIn: true, revision });
  }
  return found;
}

/** The revision that injected a member pod: its istio.io/rev annotation, else the status annotation's. */
function podRevision(pod: PodFacts): string | undefined {
  const annotated = podAnnotation(pod, ISTIO_REVISION_KEY);
  if (annotated !== undefined && annotated !== "") return annotated;
  const status = podAnnotation(pod, SIDECAR_STATUS_ANNOTATION);
  if (status === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(status);
    if (typeof parsed === "object" && parsed !== null && "revision" in parsed) {
      return typeof parsed.revision === "string" && parsed.revision !== "" ? parsed.revision : undefined;
    }
  } catch {
    // A malformed status annotation tells us nothing about the revision.
  }
  return undefined;
}

function controlPlane(ref: MeshRef): ControlPlaneRequirement[] {
  const revision = ref.revision;
  const named = revision !== undefined && revision !== DEFAULT_REVISION;
  const which = named ? `revision "${revision}"` : "the default revision";
  return [
    {
      kind: "Deployment",
      namespace: ISTIO_NAMESPACE,
      names: named ? [`istiod-${revision}`] : ["istiod"],
      hint: `Install istiod for ${which} in ${ISTIO_NAMESPACE} and wait until it is available.`,
    },
    {
      kind: "MutatingWebhookConfiguration",
      names: named
        ? [`istio-sidecar-injector-${revision}`, `istio-revision-tag-${revision}`]
        : ["istio-sidecar-injector", `istio-revision-tag-${DEFAULT_REVISION}`],
      hint: `Install the sidecar injector webhook for ${which} (or a revision tag with that name).`,
    },
  ];
}

export const istioDriver: MeshDriver = {
  name: "istio",
  namespaceLabelKeys: [ISTIO_INJECTION_LABEL, ISTIO_REVISION_KEY],
  namespaceAnnotationKeys: [],
  templateMarkerKeys: { labels: [SIDECAR_INJECT_KEY, ISTIO_REVISION_KEY], annotations: [SIDECAR_INJECT_KEY] },
  joinRequiresRestart: true,
  leaveRequiresRestart: true,

  enroll(ref) {
    // istio-injection=enabled beats istio.io/rev, so each form removes the other.
    if (ref.revision !== undefined) {
      return mergeChanges(
        removeMarkers({ labels: [ISTIO_INJECTION_LABEL] }),
        setMarker("label", ISTIO_REVISION_KEY, ref.revision),
      );
    }
    return mergeChanges(
      removeMarkers({ labels: [ISTIO_REVISION_KEY] }),
      setMarker("label", ISTIO_INJECTION_LABEL, "enabled"),
    );
  },

  unenroll(_ref, current) {
    return removeMarkers({ labels: [ISTIO_INJECTION_LABEL, ISTIO_REVISION_KEY] }, current);
  },

  namespaceEnrolled(ns, ref) {
    const revision = namespaceRevision(ns);
    if (revision === undefined) return false;
    return ref?.revision === undefined || ref.revision === revision;
  },

  isMember(pod) {
    // Any istio-proxy counts, gateways and hand-written stubs included: it is Istio's data plane.
    return hasProxy(pod, ISTIO_PROXY_CONTAINER);
  },

  templateOptIns,
  controlPlane,

  optInMarker(ref) {
    // Revisioned injectors only have revision webhooks, which match the template's istio.io/rev label.
    if (ref.revision !== undefined) {
      return {
        kind: "label",
        key: ISTIO_REVISION_KEY,
        value: ref.revision,
        optsIn: true,
        revision: ref.revision,
      };
    }
    return { kind: "label", key: SIDECAR_INJECT_KEY, value: "true", optsIn: true };
  },

  optOutMarker() {
    // The label form: it stops the webhook from being called at all and beats the annotation.
    return { kind: "label", key: SIDECAR_INJECT_KEY, value: "false", optsIn: false };
  },

  podRevision,
  defaultRevision: DEFAULT_REVISION,
  // istiod's gateway deployment controller labels what it makes for a Gateway (waypoints included).
  runsOwnPod: (labels) => labels[ISTIO_MANAGED_GATEWAY_LABEL] !== undefined,
  controlPlaneNamespace: ISTIO_NAMESPACE,
  trustDomain: { id: "istio", name: "Istio" },
  admission: {
    cel: `variables.proxies.exists(n, n == '${ISTIO_PROXY_CONTAINER}')`,
    verb: "carries",
    what: `${ISTIO_PROXY_CONTAINER} (Istio)`,
    remedy: "the Istio opt-in or namespace marker",
  },

  memberMarks(ref) {
    const revision = ref.revision ?? DEFAULT_REVISION;
    return {
      containers: [ISTIO_PROXY_CONTAINER],
      annotations: { [SIDECAR_STATUS_ANNOTATION]: JSON.stringify({ revision }) },
    };
  },
};
