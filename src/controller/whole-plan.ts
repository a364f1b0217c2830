// The whole migration planned ahead, for spec.dryRun and `mesh-migration-operator plan`: per
// namespace in batch order, the namespace patches, the pod-template rewrites, the restarts in
// the waves they start in, the pods nobody can restart, and what would stop the migration.
// Every step comes from the reconciler's own namespace planner, projected round by round
// (projection.ts); the batch rules (order, gate, blockers) are the migration planner's. What is
// left here is rendering. Pure: facts in, a MigrationOutline out.
import {
  MAX_PLAN_LIST_ITEMS,
  type MigrationOutline,
  type MigrationWarning,
  type NamespaceOutline,
  type PlanBlocker,
  type PlannedNamespaceChange,
  type PlannedSkip,
  type PlannedTemplateRewrite,
} from "../api/schema.ts";
import type { MarkerChange, MeshRef } from "../meshes/driver.ts";
import { applyChange, hasChanges } from "../meshes/markers.ts";
import { namespaceMeshes, podOnMesh } from "../meshes/registry.ts";
import { describeMeshRef, workloadName } from "../preflight/describe.ts";
import { hasBlockingWarnings } from "../preflight/preflight.ts";
import type { Action, RelabelAction, RestartWorkloadAction } from "./actions.ts";
import { encodeOriginal, ORIGINAL_ANNOTATION, OWNER_ANNOTATION, OWNER_LABEL } from "./bookkeeping.ts";
import { parseDurationMs } from "./duration.ts";
import type { ControlPlaneFacts, NamespaceFacts, PodObservation, WorkloadFacts } from "./facts.ts";
import { batchNamespaceProblems, resolveBatches, startedBatches } from "./migration/batches.ts";
import type { MigrationSpecView, ResolvedBatch } from "./migration/types.ts";
import { planNamespaceForward } from "./namespace/forward.ts";
import { planNamespaceRollback } from "./namespace/rollback.ts";
import type { GatewayFacts } from "./namespace/waypoint-gateway.ts";
import { waypointStep } from "./namespace/waypoint-plan-steps.ts";
import { type NamespaceState, type ProjectedNamespace, projectNamespace } from "./projection.ts";
import { expectsMesh } from "./restarts.ts";

export interface WholePlanInput {
  /** The MeshMigration's name, when known: namespaces it already owns are in progress, not foreign. */
  migration?: string | undefined;
  /** The parsed spec (parseSpec's output fits). */
  spec: MigrationSpecView;
  /** Every namespace in the cluster, by name. */
  namespaces: ReadonlyMap<string, NamespaceFacts>;
  workloadsIn: (namespace: string) => readonly WorkloadFacts[];
  podsIn: (namespace: string) => readonly PodObservation[];
  /** A namespace's Gateways (waypoints); none when not given. */
  gatewaysIn?: ((namespace: string) => readonly GatewayFacts[]) | undefined;
  targetControlPlane: ControlPlaneFacts;
  /** The preflight's findings (preflightWarnings), published with the plan. */
  warnings: readonly MigrationWarning[];
  now: Date;
}

/** The owner written by a plan made for a manifest without metadata.name. */
const UNNAMED_MIGRATION = "<migration name>";
/** The plan shows what happens once the control plane is ready; its readiness is a blocker of its own. */
const READY: ControlPlaneFacts = { ready: true, problems: [] };
const JOB_NAME_LABELS = ["batch.kubernetes.io/job-name", "job-name"];

/** A change as kubectl writes it: "key-" removes, "key=value" sets. */
function edits(change: MarkerChange): Pick<PlannedNamespaceChange, "labels" | "annotations"> {
  const of = (remove: string[], set: Record<string, string>) => [
    ...remove.map((key) => `${key}-`),
    ...Object.entries(set).map(([key, value]) => `${key}=${value}`),
  ];
  return {
    labels: of(change.remove.labels, change.set.labels),
    annotations: of(change.remove.annotations, change.set.annotations),
  };
}

/** Keeps a list within the status schema's bound, counting what was left out in a last entry. */
function capped<T>(items: readonly T[], more: (count: number) => T): T[] {
  if (items.length <= MAX_PLAN_LIST_ITEMS) return [...items];
  const kept = items.slice(0, MAX_PLAN_LIST_ITEMS - 1);
  return [...kept, more(items.length - kept.length)];
}

function unmanagedPodName(pod: PodObservation): string {
  const labels = pod.metadata.labels ?? {};
  const job = JOB_NAME_LABELS.map((key) => labels[key]).find((value) => value !== undefined);
  return job ? `${pod.metadata.name} (Job ${job})` : pod.metadata.name;
}

/** One namespace's rounds, from the planner the reconciler runs, in the direction the spec asks. */
function projectionOf(input: WholePlanInput, ns: NamespaceFacts): ProjectedNamespace {
  const { spec } = input;
  const common = {
    migration: input.migration ?? UNNAMED_MIGRATION,
    source: spec.source,
    target: spec.target,
    waypoint: spec.target.waypoint,
    maxConcurrentRollouts: spec.strategy.maxConcurrentRollouts,
    rolloutTimeoutMs: parseDurationMs(spec.strategy.rolloutTimeout),
    now: input.now.getTime(),
    mayStart: true,
  };
  const start: NamespaceState = {
    ns,
    workloads: [...input.workloadsIn(ns.name)],
    pods: [...input.podsIn(ns.name)],
    gateways: [...(input.gatewaysIn?.(ns.name) ?? [])],
  };
  if (spec.rollback === true) {
    return projectNamespace(start, (state) =>
      planNamespaceRollback({ ...common, ...state, sourceControlPlane: READY }),
    );
  }
  return projectNamespace(start, (state) =>
    planNamespaceForward({
      ...common,
      ...state,
      workloadOverrides: spec.strategy.workloadOverrides,
      targetControlPlane: READY,
    }),
  );
}

function recordStep(action: Extract<Action, { type: "RecordOriginal" }>): PlannedNamespaceChange {
  return {
    step:
      "first, record the namespace's original mesh markers and its owner, for rollback (the owner label " +
      "also puts the namespace under the double-mesh guard)",
    labels: [`${OWNER_LABEL}=${action.owner}`],
    annotations: [
      `${OWNER_ANNOTATION}=${action.owner}`,
      `${ORIGINAL_ANNOTATION}=${encodeOriginal(action.original)}`,
    ],
  };
}

/** Says what a relabel is for: where the namespace stands after it, and whether restarts came first. */
function relabelStep(
  spec: MigrationSpecView,
  action: RelabelAction,
  after: NamespaceFacts,
  afterRestarts: boolean,
): PlannedNamespaceChange {
  const rollingBack = spec.rollback === true;
  const leaving = rollingBack ? spec.target : spec.source;
  const joining = rollingBack ? spec.source : spec.target;
  const from = describeMeshRef(leaving);
  const to = describeMeshRef(joining);
  const onNoMesh = namespaceMeshes(after.markers).length === 0 && joining.mesh !== "none";
  const step = onNoMesh
    ? `leave ${from} first: ${to} would capture pods that still run the ${from} proxy`
    : afterRestarts
      ? `once every ${from} pod has restarted out, join ${to} (no restart needed)`
      : rollingBack
        ? `restore the recorded original mesh markers (back to ${to})`
        : `switch from ${from} to ${to} in one patch, so the namespace never enrolls both`;
  return { step, ...edits(action.change) };
}

interface RenderedRounds {
  changes: PlannedNamespaceChange[];
  rewrites: PlannedTemplateRewrite[];
  waves: string[][];
  restarted: Set<string>;
}

function renderRounds(spec: MigrationSpecView, start: NamespaceFacts, rounds: Action[][]): RenderedRounds {
  const rendered: RenderedRounds = { changes: [], rewrites: [], waves: [], restarted: new Set() };
  let markers = start.markers;
  for (const round of rounds) {
    const restarts = round.filter((a): a is RestartWorkloadAction => a.type === "RestartWorkload");
    for (const action of round) {
      if (action.type === "RecordOriginal") rendered.changes.push(recordStep(action));
      if (action.type === "UseWaypoint") markers = applyChange(markers, action.change);
      const waypoint = waypointStep(action);
      if (waypoint) rendered.changes.push(waypoint);
      if (action.type === "Relabel") {
        markers = applyChange(markers, action.change);
        rendered.changes.push(relabelStep(spec, action, { ...start, markers }, rendered.restarted.size > 0));
      }
    }
    if (restarts.length === 0) continue;
    rendered.waves.push(restarts.map(workloadName));
    for (const action of restarts) {
      rendered.restarted.add(workloadName(action));
      if (hasChanges(action.templateChange)) {
        rendered.rewrites.push({ workload: workloadName(action), ...edits(action.templateChange) });
      }
    }
  }
  return rendered;
}

/** Why a workload the planner leaves alone is left alone, in a user's words. */
function notRestartedReason(
  joining: MeshRef,
  workload: WorkloadFacts,
  pods: readonly PodObservation[],
): string {
  const to = describeMeshRef(joining);
  if (pods.length === 0)
    return "no pods (scaled to zero): its next pods are created on the target by the namespace's markers";
  if (workload.templateHostNetwork && joining.mesh !== "none")
    return `hostNetwork: ${to} does not mesh host-network pods`;
  if (!expectsMesh(joining, workload.template, workload.templateHostNetwork))
    return `its pod template opts out of ${to}`;
  if (pods.every((pod) => podOnMesh(pod, joining))) return `already on ${to}`;
  return `no restart needed: the move to ${to} applies to running pods`;
}

function notRestarted(
  joining: MeshRef,
  workloads: readonly WorkloadFacts[],
  pods: readonly PodObservation[],
  restarted: ReadonlySet<string>,
): PlannedSkip[] {
  return [...workloads]
    .sort((a, b) => workloadName(a).localeCompare(workloadName(b)))
    .filter((w) => !restarted.has(workloadName(w)))
    .map((w) => ({
      workload: workloadName(w),
      reason: notRestartedReason(
        joining,
        w,
        pods.filter((p) => p.owner?.kind === w.kind && p.owner.name === w.name && !p.terminating),
      ),
    }));
}

interface OutlinedNamespace {
  outline: NamespaceOutline;
  restartCount: number;
  unmanagedCount: number;
}

function missingNamespace(name: string): OutlinedNamespace {
  return {
    outline: {
      name,
      exists: false,
      meshes: [],
      changes: [],
      templateRewrites: [],
      restartWaves: [],
      notRestarted: [],
      unmanagedPods: [],
      note: "does not exist",
    },
    restartCount: 0,
    unmanagedCount: 0,
  };
}

function outlineNamespace(
  input: WholePlanInput,
  name: string,
  heldBy: PlanBlocker | undefined,
  blockers: PlanBlocker[],
): OutlinedNamespace {
  const ns = input.namespaces.get(name);
  if (heldBy) blockers.push(heldBy);
  if (!ns) return missingNamespace(name);

  const live = input.podsIn(name).filter((pod) => pod.phase !== "Succeeded" && pod.phase !== "Failed");
  const unmanaged = live.filter((pod) => pod.unmanaged).map(unmanagedPodName);
  const owner = ns.markers.annotations[OWNER_ANNOTATION];
  const ours = owner !== undefined && owner === input.migration;
  // A namespace the batch rules hold is not the planner's to move: nothing of it is projected.
  const projection = heldBy ? undefined : projectionOf(input, ns);
  const problem = projection?.final.problem;
  if (problem) blockers.push({ reason: problem.reason, namespace: name, message: problem.message });
  const rendered = renderRounds(input.spec, ns, projection?.rounds ?? []);
  const joining = input.spec.rollback === true ? input.spec.source : input.spec.target;
  return {
    outline: {
      name,
      exists: true,
      meshes: namespaceMeshes(ns.markers),
      changes: rendered.changes,
      templateRewrites: rendered.rewrites,
      restartWaves: rendered.waves,
      notRestarted: notRestarted(joining, input.workloadsIn(name), live, rendered.restarted),
      unmanagedPods: capped(unmanaged, (count) => `... and ${count} more`),
      note: ours ? "already being migrated by this MeshMigration: the plan shows what is left" : undefined,
    },
    restartCount: rendered.restarted.size,
    unmanagedCount: unmanaged.length,
  };
}

/** The migration planner's batch rules, as blockers for each namespace they hold. */
function batchBlockers(input: WholePlanInput, batch: ResolvedBatch): Map<string, PlanBlocker> {
  const migration = input.migration ?? UNNAMED_MIGRATION;
  const unnamed = input.migration === undefined;
  const held = new Map<string, PlanBlocker>();
  for (const problem of batchNamespaceProblems(batch, input.namespaces, migration)) {
    const hint =
      unnamed && problem.reason === "NamespaceOwnedByAnotherMigration"
        ? " (If that is this migration, give the manifest its metadata.name.)"
        : "";
    held.set(problem.namespace, {
      reason: problem.reason,
      namespace: problem.namespace,
      message: problem.message + hint,
    });
  }
  return held;
}

/** Where the migration stops: before anything, or at the first batch a blocker holds. */
function stopsWhere(
  blocked: boolean,
  blockers: readonly PlanBlocker[],
  batches: ReadonlyArray<{ name: string; namespaces: ReadonlyArray<{ name: string }> }>,
): string {
  if (!blocked) return "Nothing stops the migration.";
  const held = new Set(blockers.map((b) => b.namespace));
  const first = batches.findIndex((b) => b.namespaces.some((ns) => held.has(ns.name)));
  if (blockers.some((b) => b.namespace === undefined) || first <= 0)
    return "The migration would stop before changing anything.";
  return `The migration would stop at batch ${batches[first]?.name}; the batches before it go ahead.`;
}

function plural(count: number, word: string, words = `${word}s`): string {
  return `${count} ${count === 1 ? word : words}`;
}

export function planWholeMigration(input: WholePlanInput): MigrationOutline {
  const { spec } = input;
  const blockers: PlanBlocker[] = [];
  if (!input.targetControlPlane.ready && spec.rollback !== true) {
    blockers.push({
      reason: "TargetControlPlaneNotReady",
      message:
        `The ${describeMeshRef(spec.target)} control plane is not ready, so nothing would be restarted: ` +
        `${input.targetControlPlane.problems.join("; ")}.`,
    });
  }

  const resolved = resolveBatches(spec, input.namespaces);
  const started = startedBatches(resolved, input.namespaces, input.migration ?? UNNAMED_MIGRATION);
  const gate =
    spec.stopAfterBatch === undefined ? -1 : resolved.findIndex((b) => b.name === spec.stopAfterBatch);
  let namespaceCount = 0;
  let restartCount = 0;
  let unmanagedCount = 0;
  const batches = resolved.map((batch, index) => {
    // Rolling back undoes what was done; the rules for starting a batch do not apply.
    const held = spec.rollback === true ? new Map<string, PlanBlocker>() : batchBlockers(input, batch);
    return {
      name: batch.name,
      // The planner's gate: a batch after it that has not started waits for the gate to move.
      held: gate >= 0 && index > gate && !started.has(batch.name),
      namespaces: batch.namespaces.map((name) => {
        const outlined = outlineNamespace(input, name, held.get(name), blockers);
        namespaceCount++;
        restartCount += outlined.restartCount;
        unmanagedCount += outlined.unmanagedCount;
        return outlined.outline;
      }),
    };
  });

  const warnings = capped(input.warnings, (count) => ({
    code: "MoreWarnings",
    severity: "Warning" as const,
    message: `${count} more warnings are not shown.`,
  }));
  const blockingWarnings = input.warnings.filter((warning) => warning.severity === "Blocking").length;
  const blocked =
    blockers.length > 0 || (spec.strategy.blockOnWarnings !== false && hasBlockingWarnings(input.warnings));
  const modes = [
    spec.rollback === true
      ? "spec.rollback is true: this is the rollback plan, restoring every namespace this migration touched."
      : undefined,
    spec.paused ? "spec.paused is true: nothing starts until it is false." : undefined,
  ].filter((mode) => mode !== undefined);
  const summary =
    `${describeMeshRef(spec.source)} → ${describeMeshRef(spec.target)}: ${plural(namespaceCount, "namespace")} in ` +
    `${plural(batches.length, "batch", "batches")}, ` +
    `${plural(restartCount, "workload restart")}, ${plural(unmanagedCount, "pod")} to recreate by hand; ` +
    `${plural(blockers.length, "blocker")}, ${plural(input.warnings.length, "warning")} (${blockingWarnings} blocking). ` +
    stopsWhere(blocked, blockers, batches) +
    modes.map((mode) => ` ${mode}`).join("");

  return {
    source: describeMeshRef(spec.source),
    target: describeMeshRef(spec.target),
    blocked,
    summary,
    batches,
    blockers: capped(blockers, (count) => ({
      reason: "MoreBlockers",
      message: `${count} more blockers are not shown.`,
    })),
    warnings,
  };
}
