// The migration planner's input and output, and what its steps hand each other.
import type { LabelSelector } from "../../api/label-selector.ts";
import type {
  BatchStatus,
  MeshMigrationStatus,
  MigrationWarning,
  NamespaceStatus,
  Phase,
} from "../../api/schema.ts";
import type { MeshRef } from "../../meshes/driver.ts";
import type { Action, StepEvent } from "../actions.ts";
import type { Condition } from "../conditions.ts";
import type { ControlPlaneFacts, NamespaceFacts, PodObservation, WorkloadFacts } from "../facts.ts";
import type { NamespacePlan, Problem } from "../namespace/types.ts";
import type { GatewayFacts, WaypointSpecView } from "../namespace/waypoint-gateway.ts";

export type MigrationPhase = Phase;

/** The parts of a MeshMigration spec the planner reads (defaults already applied). */
export interface MigrationSpecView {
  source: MeshRef;
  target: MeshRef & { waypoint?: WaypointSpecView | undefined };
  batches: Array<{
    name: string;
    namespaces?: string[] | undefined;
    namespaceSelector?: LabelSelector | undefined;
  }>;
  strategy: {
    maxConcurrentNamespaces: number;
    maxConcurrentRollouts: number;
    rolloutTimeout: string;
    workloadOverrides: "Rewrite" | "Fail";
    blockOnWarnings?: boolean | undefined;
  };
  stopAfterBatch?: string | undefined;
  paused: boolean;
  rollback?: boolean | undefined;
}

export interface MigrationPlanInput {
  name: string;
  generation: number;
  spec: MigrationSpecView;
  previousConditions?: readonly Condition[] | undefined;
  /** Every namespace in the cluster, by name. */
  namespaces: ReadonlyMap<string, NamespaceFacts>;
  workloadsIn: (namespace: string) => WorkloadFacts[];
  podsIn: (namespace: string) => PodObservation[];
  /** A namespace's Gateways (waypoints); none when not given. */
  gatewaysIn?: ((namespace: string) => GatewayFacts[]) | undefined;
  targetControlPlane: ControlPlaneFacts;
  /** Cross-mesh traffic warnings from the preflight (src/preflight). */
  warnings?: readonly MigrationWarning[] | undefined;
  /** The source mesh's control plane: a rollback restarts pods back into it. */
  sourceControlPlane?: ControlPlaneFacts | undefined;
  now: Date;
  /**
   * The MeshMigration is being deleted: namespaces it has not finished go back to their recorded
   * original (all it touched, when spec.rollback is true), whatever spec.paused says; namespaces
   * it migrated stay migrated. See plan-migration.ts.
   */
  deleting?: boolean | undefined;
}

export type { BatchStatus, NamespaceStatus };

/** The status the planner computes: the schema's status, with the fields it always sets required. */
export type MigrationStatusView = Required<
  Pick<
    MeshMigrationStatus,
    | "phase"
    | "observedGeneration"
    | "direction"
    | "progress"
    | "migratedNamespaces"
    | "totalNamespaces"
    | "doubleMeshedPods"
    | "conditions"
    | "batches"
    | "namespaces"
  >
> &
  Pick<MeshMigrationStatus, "currentBatch">;

export interface MigrationPlan {
  actions: Action[];
  status: MigrationStatusView;
  /** Events for conditions that were just raised (the actions carry their own). */
  events: StepEvent[];
  requeueAfterMs?: number | undefined;
  /** While deleting: every namespace to undo is back on its original, so the bookkeeping may go. */
  releasable?: boolean | undefined;
}

export interface ResolvedBatch {
  name: string;
  namespaces: string[];
  missing: Set<string>;
}

/** A namespace's problem, with the namespace. */
export interface NamespaceProblem extends Problem {
  namespace: string;
}

/** One walk over the batches: each namespace's plan and what holds the migration. */
export interface Walk {
  plans: Map<string, NamespacePlan | undefined>;
  problems: NamespaceProblem[];
  /** The first batch not yet migrated (undefined: every batch is, or the gate holds). */
  currentBatch: string | undefined;
  /** Held at spec.stopAfterBatch. */
  holding: boolean;
  /** What keeps the current batch from starting. */
  batchBlocked: Problem | undefined;
  /** Namespaces this migration owns that no batch lists any more (a rollback undoes them too). */
  extraBatches: ResolvedBatch[];
}
