// The one interface every mesh driver implements. Adding a mesh (Consul, Kuma)
// means one new file implementing MeshDriver and one line in registry.ts.

import type { MeshName } from "../api/constants.ts";

export { MESH_NAMES, type MeshName } from "../api/constants.ts";

/** A mesh as named in a MeshMigration's spec.source or spec.target. */
export interface MeshRef {
  mesh: MeshName;
  /** Istio control-plane revision (istio.io/rev); only meaningful for istio. */
  revision?: string | undefined;
}

/** The labels and annotations of an object, as plain maps (never undefined). */
export interface Markers {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The pod facts a driver reads to tell membership. A subset of V1Pod. */
export interface PodFacts {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    containers?: Array<{ name?: string; image?: string }>;
    initContainers?: Array<{ name?: string; image?: string; restartPolicy?: string }>;
    hostNetwork?: boolean;
  };
}

/** A pod-template opt-in (or opt-out) that pins a pod to a mesh regardless of the namespace. */
export interface TemplateOptIn {
  kind: "label" | "annotation";
  key: string;
  value: string;
  /** true when the key asks to be meshed by this mesh, false when it opts out. */
  optsIn: boolean;
  /** The Istio revision this opt-in names (template label istio.io/rev); absent means any revision. */
  revision?: string | undefined;
}

/** How a driver wants a namespace changed to enroll in (or leave) its mesh. */
export interface MarkerChange {
  /** Keys to set, with their values. */
  set: Markers;
  /** Keys to remove. */
  remove: { labels: string[]; annotations: string[] };
}

/** A control-plane object that must be ready before pods are restarted into the mesh. */
export interface ControlPlaneRequirement {
  kind: "Deployment" | "DaemonSet" | "MutatingWebhookConfiguration";
  namespace?: string;
  /** Any one of these names satisfies the requirement (e.g. istiod or istiod-<rev>). */
  names: string[];
  /** What a user should do when it is missing or not ready. */
  hint: string;
}

export interface MeshDriver {
  readonly name: MeshName;
  /** Every namespace label key this mesh reads (ours to record, remove and restore). */
  readonly namespaceLabelKeys: readonly string[];
  /** Every namespace annotation key this mesh reads. */
  readonly namespaceAnnotationKeys: readonly string[];
  /**
   * Every pod-template label and annotation key this mesh reads as an opt-in or opt-out: the
   * keys the operator may rewrite on a workload (deploy/write-limits.yaml allows exactly these).
   */
  readonly templateMarkerKeys: {
    readonly labels: readonly string[];
    readonly annotations: readonly string[];
  };
  /** Whether pods must be restarted to join this mesh (sidecar injection happens at admission). */
  readonly joinRequiresRestart: boolean;
  /** Whether pods must be restarted to leave this mesh (a sidecar stays until the pod is recreated). */
  readonly leaveRequiresRestart: boolean;
  /** Namespace markers that enroll a namespace in this mesh. */
  enroll(ref: MeshRef): MarkerChange;
  /** Namespace markers to remove so the namespace no longer enrolls pods in this mesh. */
  unenroll(ref: MeshRef, current: Markers): MarkerChange;
  /** Whether the namespace's markers enroll new pods in this mesh (intent, not membership). */
  namespaceEnrolled(ns: Markers, ref?: MeshRef): boolean;
  /** Whether the pod is meshed by this mesh, read from pod facts only. */
  isMember(pod: PodFacts): boolean;
  /** This mesh's opt-ins and opt-outs found on a pod template's metadata. */
  templateOptIns(template: Markers): TemplateOptIn[];
  /** Control-plane objects that must be ready before pods are moved into this mesh. */
  controlPlane(ref: MeshRef): ControlPlaneRequirement[];
  /** The template marker that pins a pod to ref (used to rewrite templates); absent when the mesh has none. */
  optInMarker?(ref: MeshRef): TemplateOptIn;
  /** The template marker that keeps a pod out of this mesh; absent when the mesh has none. */
  optOutMarker?(ref: MeshRef): TemplateOptIn;
  /**
   * Meshes whose sidecar pods this mesh leaves alone when it enrolls a namespace without restarts
   * (ambient skips Istio sidecar pods but would capture a linkerd-proxy pod: two meshes in one pod).
   */
  readonly skipsPodsMeshedBy?: readonly MeshName[];
  /** The control-plane revision a member pod was injected by, when the mesh has revisions and the pod says. */
  podRevision?(pod: PodFacts): string | undefined;
  /**
   * Whether pods with these labels (and workloads whose pod template carries them) are the mesh's
   * own, run by its control plane in application namespaces (Istio's gateways and waypoints):
   * never a migration's to restart, verify or count.
   */
  runsOwnPod?(podLabels: Readonly<Record<string, string>>): boolean;
  /** The revision a MeshRef without one stands for, when the mesh has revisions (the API allows them). */
  readonly defaultRevision?: string;
  /**
   * The namespace the mesh's control plane runs in: never a MeshMigration's to move, and a change
   * of its workloads may unblock any migration.
   */
  readonly controlPlaneNamespace?: string;
  /** The mesh's trust root, shared by meshes that trust each other (Istio's sidecar and ambient modes). */
  readonly trustDomain?: { id: string; name: string };
  /**
   * How the double-mesh guard (a ValidatingAdmissionPolicy) tells, at admission, that this mesh
   * will mesh a pod: a CEL expression over `object` (the pod), `namespaceObject` and
   * `variables.proxies` (the names of its containers and init containers), what it means in
   * words ("the pod" + verb + what), and what to remove when it must not.
   */
  readonly admission?: { cel: string; verb: string; what: string; remedy: string };
  /**
   * The marks a pod this mesh took carries, exactly as isMember and podRevision read them. The
   * whole plan is projected on pods built from these (src/controller/projection.ts).
   */
  memberMarks(ref: MeshRef): MemberMarks;
}

/** What membership adds to a pod: proxy containers and annotations. */
export interface MemberMarks {
  containers: string[];
  annotations: Record<string, string>;
}
