// A MeshMigration as the plugin reads it: the few spec fields its commands steer, the metadata a
// conditional patch needs, and the status as the operator wrote it. Read defensively from the
// apiserver's JSON: a spec the operator would refuse must still be shown and steered.
import { CONDITION_TYPES } from "../../api/constants.ts";
import type { Condition, MeshMigrationStatus } from "../../api/schema.ts";
import { describeMesh } from "../../controller/restarts.ts";
import type { MeshName, MeshRef } from "../../meshes/driver.ts";

export type Direction = "forward" | "rollback";

export interface SpecView {
  source: MeshRef;
  target: MeshRef;
  /** Batch names, in order. */
  batches: string[];
  stopAfterBatch: string | undefined;
  paused: boolean;
  rollback: boolean;
  dryRun: boolean;
}

export interface MigrationView {
  name: string;
  resourceVersion: string;
  generation: number | undefined;
  labels: Record<string, string>;
  /** metadata.creationTimestamp in ms since the epoch. */
  createdAt: number | undefined;
  deleting: boolean;
  spec: SpecView;
  /** Undefined when no operator has written a status yet. */
  status: MeshMigrationStatus | undefined;
}

type Json = Record<string, unknown>;

function objectAt(value: unknown, key: string): Json {
  const child = (value as Json | undefined)?.[key];
  return typeof child === "object" && child !== null && !Array.isArray(child) ? (child as Json) : {};
}

function stringAt(value: Json, key: string): string | undefined {
  return typeof value[key] === "string" ? (value[key] as string) : undefined;
}

function meshRef(value: Json): MeshRef {
  return { mesh: (stringAt(value, "mesh") ?? "none") as MeshName, revision: stringAt(value, "revision") };
}

function timeOf(value: string | undefined): number | undefined {
  const ms = value === undefined ? Number.NaN : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function specView(spec: Json): SpecView {
  const batches = Array.isArray(spec.batches) ? spec.batches : [];
  return {
    source: meshRef(objectAt(spec, "source")),
    target: meshRef(objectAt(spec, "target")),
    batches: batches.map((batch) => stringAt(batch as Json, "name") ?? "").filter(Boolean),
    stopAfterBatch: stringAt(spec, "stopAfterBatch"),
    paused: spec.paused === true,
    rollback: spec.rollback === true,
    dryRun: spec.dryRun === true,
  };
}

/** The view of a MeshMigration object as the apiserver returns it. */
export function migrationView(object: unknown): MigrationView {
  const metadata = objectAt(object, "metadata");
  const status = (object as Json | undefined)?.status;
  const labels = objectAt(metadata, "labels");
  return {
    name: stringAt(metadata, "name") ?? "",
    resourceVersion: stringAt(metadata, "resourceVersion") ?? "",
    generation: typeof metadata.generation === "number" ? metadata.generation : undefined,
    labels: Object.fromEntries(Object.entries(labels).filter(([, v]) => typeof v === "string")) as Record<
      string,
      string
    >,
    createdAt: timeOf(stringAt(metadata, "creationTimestamp")),
    deleting: stringAt(metadata, "deletionTimestamp") !== undefined,
    spec: specView(objectAt(object, "spec")),
    // An empty status ({}) is as good as none: nobody has reported anything.
    status:
      typeof status === "object" && status !== null && Object.keys(status).length > 0
        ? (status as MeshMigrationStatus)
        : undefined,
  };
}

export function directionOf(spec: SpecView): Direction {
  return spec.rollback ? "rollback" : "forward";
}

/** "istio → linkerd" going forward; "linkerd → istio" while rolling back: the way pods move. */
export function movement(spec: SpecView): string {
  const source = describeMesh(spec.source);
  const target = describeMesh(spec.target);
  return directionOf(spec) === "forward" ? `${source} → ${target}` : `${target} → ${source}`;
}

export function conditionOf(view: MigrationView, type: string): Condition | undefined {
  return view.status?.conditions?.find((condition) => condition.type === type);
}

/** Whether the status describes the spec as it is now (the operator has seen the last edit). */
export function statusIsCurrent(view: MigrationView): boolean {
  return view.status?.observedGeneration !== undefined && view.status.observedGeneration === view.generation;
}

/** Ready=True for the current generation: the cluster matches the spec, nothing will move by itself. */
export function isReady(view: MigrationView): boolean {
  const ready = conditionOf(view, CONDITION_TYPES.ready);
  const generation = ready?.observedGeneration ?? view.status?.observedGeneration;
  return ready?.status === "True" && generation !== undefined && generation === view.generation;
}

/** The conditions that need a person (True means something is wrong), without repeated messages. */
export function conditionsNeedingAPerson(view: MigrationView): Condition[] {
  const wanted: readonly string[] = [
    CONDITION_TYPES.degraded,
    CONDITION_TYPES.doubleMeshDetected,
    CONDITION_TYPES.invalidSpec,
  ];
  const raised = (view.status?.conditions ?? []).filter(
    (c) => wanted.includes(c.type) && c.status === "True",
  );
  return raised.filter((c, index) => raised.findIndex((other) => other.message === c.message) === index);
}
