// The changes a plan asks for. Each is one conflict-safe patch of only the keys
// the operator owns, and carries the Event that tells the user it happened.
import type { MarkerChange, Markers, MeshRef } from "../meshes/driver.ts";
import { mergeChanges, noChange, removeMarkers, setMarker } from "../meshes/markers.ts";
import {
  encodeOriginal,
  ORIGINAL_ANNOTATION,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  RESTART_STAMP_ANNOTATION,
  TEMPLATE_ORIGINAL_ANNOTATION,
} from "./bookkeeping.ts";
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

/** Create the namespace's waypoint Gateway (spec.target.waypoint.create), marked as the migration's. */
export interface CreateWaypointAction {
  type: "CreateWaypoint";
  namespace: string;
  name: string;
  owner: string;
  event: StepEvent;
}

/** Set, restore or remove the namespace's istio.io/use-waypoint label: its own write, never with the relabel. */
export interface UseWaypointAction {
  type: "UseWaypoint";
  namespace: string;
  resourceVersion: string;
  change: MarkerChange;
  event: StepEvent;
}

/** Delete a waypoint Gateway the operator made, exactly the one read (uid and resourceVersion preconditions). */
export interface DeleteWaypointAction {
  type: "DeleteWaypoint";
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  event: StepEvent;
}

export type WaypointAction = CreateWaypointAction | UseWaypointAction | DeleteWaypointAction;

export type Action = RecordOriginalAction | RelabelAction | RestartWorkloadAction | WaypointAction;

/**
 * The keys an action writes, as marker changes: the executor sends them as merge patches, the
 * whole plan's projection applies them to its model. One definition, so the two cannot differ.
 */
export function recordOriginalChange(action: RecordOriginalAction): MarkerChange {
  return mergeChanges(
    setMarker("label", OWNER_LABEL, action.owner),
    setMarker("annotation", OWNER_ANNOTATION, action.owner),
    setMarker("annotation", ORIGINAL_ANNOTATION, encodeOriginal(action.original)),
  );
}

/** A restart's changes: on the pod template (opt-in rewrite and stamp) and on the workload itself. */
export function restartChanges(action: RestartWorkloadAction): {
  template: MarkerChange;
  workload: MarkerChange;
} {
  const template = mergeChanges(
    action.templateChange,
    setMarker("annotation", RESTART_STAMP_ANNOTATION, action.stamp),
  );
  const workload = action.dropTemplateOriginal
    ? removeMarkers({ annotations: [TEMPLATE_ORIGINAL_ANNOTATION] })
    : action.templateOriginal !== undefined
      ? setMarker("annotation", TEMPLATE_ORIGINAL_ANNOTATION, action.templateOriginal)
      : noChange();
  return { template, workload };
}
