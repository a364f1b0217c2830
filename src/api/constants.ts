// Names that identify the MeshMigration API and the marks the operator leaves on the cluster.
// Everything here is part of the public contract: changing a value breaks existing installs.
import { MESH_CONTROL_PLANE_NAMESPACES, MESH_NAMES, REVISIONED_MESHES } from "./mesh-catalog.ts";

export const GROUP = "meshmigration.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "MeshMigration";
export const LIST_KIND = "MeshMigrationList";
export const PLURAL = "meshmigrations";
export const SINGULAR = "meshmigration";
export const SHORT_NAMES = ["mm", "meshmig"] as const;
export const CATEGORIES = ["meshmigration"] as const;
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** The namespace the operator itself runs in. */
export const OPERATOR_NAMESPACE = "mesh-migration-system";

/** The leader-election Lease's default name (--leader-election-id); deploy/ grants it by name. */
export const DEFAULT_LEADER_ELECTION_ID = "mesh-migration-operator";

/**
 * Namespaces a MeshMigration may never list: the cluster's own, the meshes' control planes
 * and the operator's. Moving any of them would cut the ground from under the migration.
 */
export const PROTECTED_NAMESPACES = [
  "kube-system",
  "kube-public",
  "kube-node-lease",
  ...MESH_CONTROL_PLANE_NAMESPACES,
  OPERATOR_NAMESPACE,
] as const;

/** Field manager name for every write the operator makes (server-side apply and patches). */
export const FIELD_MANAGER = "mesh-migration-operator";

/** Finalizer that lets the operator restore namespaces before a MeshMigration disappears. */
export const FINALIZER = `${GROUP}/finalizer`;

/** Annotations the operator writes on namespaces and workloads. */
export const ANNOTATIONS = {
  /** On a namespace: the name of the MeshMigration that owns (is migrating) it. */
  owner: `${GROUP}/owner`,
  /** On a namespace: JSON of its mesh-related labels and annotations before the migration touched it. */
  original: `${GROUP}/original`,
  /** On a workload: JSON of the pod-template labels and annotations the operator rewrote. */
  templateOriginal: `${GROUP}/template-original`,
  /** On a pod template: stamp that triggers (and records) the restart done for a migration step. */
  restartedFor: `${GROUP}/restarted-for`,
} as const;

/** Condition types published in status.conditions (`kubectl wait --for=condition=Ready`). */
export const CONDITION_TYPES = {
  ready: "Ready",
  progressing: "Progressing",
  paused: "Paused",
  degraded: "Degraded",
  doubleMeshDetected: "DoubleMeshDetected",
  invalidSpec: "InvalidSpec",
} as const;

export { MESH_NAMES, REVISIONED_MESHES };
export type MeshName = (typeof MESH_NAMES)[number];

/** The workload kinds the operator restarts. */
export const WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet"] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
