// The changes a plan asks for. Each is one conflict-safe patch of only the keys
// the operator owns, and carries the Event that tells the user it happened.
import type { MarkerChange, Markers, MeshRef } from "../meshes/driver.ts";
import type { WorkloadKind } from "./facts.ts";

export interface StepEvent {
  /** Normal for progress, Warning for anything the user must look at. */
  type: "Normal" | "Warning";
  reason: string;
  message: string;
  /** What was done (events.k8s.io's action): the action's type, or the reason when nothing was. */
  action?: string | undefined;
  /**
   * For an Event that announces a fact once (a namespace verified): its name, derived from the
   * fact itself, so it is written once however often the fact is seen, and no remembered status
   * is needed to tell "just now" from "long ago".
   */
  once?: string | undefined;
}

/** Write the owner and the original mesh markers on the namespace, before anything changes. */
export interface RecordOriginalAction {
  type: "RecordOriginal";
  namespace: string;
  resourceVersion: string;
  owner: string;
  original: Markers;
  event: StepEvent;
}

/** One patch that removes one mesh's namespace markers and adds another's. */
export interface RelabelAction {
  type: "Relabel";
  namespace: string;
  resourceVersion: string;
  change: MarkerChange;
  event: StepEvent;
}

/** Restart a workload through its pod template, rewriting template opt-ins in the same patch. */
export interface RestartWorkloadAction {
  type: "RestartWorkload";
  kind: WorkloadKind;
  namespace: string;
  name: string;
  resourceVersion: string;
  stamp: string;
  /** The mesh the new pods must show to verify (none while draining before an ambient enrollment). */
  stage: MeshRef;
  templateChange: MarkerChange;
  /** JSON of the template keys' original values, written on the workload when first rewritten. */
  templateOriginal?: string | undefined;
  /** Remove that record: a rollback has restored the template. */
  dropTemplateOriginal?: boolean | undefined;
  event: StepEvent;
}

export type Action = RecordOriginalAction | RelabelAction | RestartWorkloadAction;
