// The migration-level planner: a pure function from a MeshMigration's spec and the observed
// cluster to the next actions and the status to publish. It reads like the runbook:
//   1. resolve which namespaces each batch moves;
//   2. walk the batches (forward, or the rollback order) and plan each namespace;
//   3. if anything halts (a halting problem, a double-meshed pod), walk again with nothing new
//      starting, so running rollouts settle and nothing else moves;
//   4. summarize the walk as status, conditions and Events.
// A MeshMigration being deleted keeps what it finished and undoes what it did not: namespaces it
// owns that are not verified on the target go back to their recorded original (every namespace
// it touched, if spec.rollback is true), pause or not, so no namespace is left between meshes and
// no record is erased while one still needs it. Then its bookkeeping may go (releasable).
import { type ConditionInput, mergeConditions } from "../conditions.ts";
import { resolveBatches } from "./batches.ts";
import { conditionEvents, migrationConditions, transitionEvents } from "./conditions.ts";
import { type NamespacePlanners, namespacePlanners } from "./namespace-planners.ts";
import { doubleMeshedPods, type MigrationSummary, summarize } from "./status.ts";
import type { MigrationPlan, MigrationPlanInput, ResolvedBatch, Walk } from "./types.ts";
import { walkForward } from "./walk-forward.ts";
import { walkRollback } from "./walk-rollback.ts";

/** While anything is in flight, look again at least this often even without events. */
const PROGRESS_RESYNC_MS = 30_000;

export function planMigration(input: MigrationPlanInput): MigrationPlan {
  const { spec } = input;
  const batches = resolveBatches(spec, input.namespaces);
  const planners = namespacePlanners(input);
  const undoing = namespacesToUndo(input, planners);
  const walk = walkOrHalt(input, batches, planners, undoing);
  const summary = summarize(input.deleting ? { ...spec, rollback: true } : spec, batches, walk, planners);
  // Released once every namespace to undo is back on its original (or gone).
  const releasable = input.deleting
    ? [...input.namespaces.keys()].filter(undoing).every((ns) => walk.plans.get(ns)?.phase === "RolledBack")
    : undefined;
  const conditionInputs = migrationConditions(spec, summary, walk).map((condition) =>
    input.deleting && condition.type === "Ready" ? deletingCondition(undoing, input) : condition,
  );
  return {
    actions: [...walk.plans.values()].flatMap((plan) => plan?.actions ?? []),
    events: [
      ...conditionEvents(input.previousConditions, conditionInputs, summary.phase),
      ...transitionEvents(input, summary),
    ],
    requeueAfterMs: requeueAfter(walk, summary),
    releasable,
    status: {
      phase: summary.phase,
      observedGeneration: input.generation,
      currentBatch: walk.currentBatch ?? (walk.holding ? spec.stopAfterBatch : batches.at(-1)?.name),
      direction: input.deleting || spec.rollback === true ? "Rollback" : "Forward",
      progress: `${summary.done}/${summary.total}`,
      migratedNamespaces: summary.done,
      totalNamespaces: summary.total,
      doubleMeshedPods: summary.doubleMeshed.length,
      conditions: mergeConditions(input.previousConditions, conditionInputs, input.generation, input.now),
      batches: summary.batches,
      namespaces: summary.namespaces,
    },
  };
}

/** While deleting, the namespaces to return to their original: all it touched, or the unfinished ones. */
function namespacesToUndo(
  input: MigrationPlanInput,
  planners: NamespacePlanners,
): (namespace: string) => boolean {
  if (!input.deleting) return () => true;
  if (input.spec.rollback === true) return planners.ownedByUs;
  return (ns) => planners.ownedByUs(ns) && planners.forward(ns, false)?.phase !== "Migrated";
}

function deletingCondition(
  undoing: (namespace: string) => boolean,
  input: MigrationPlanInput,
): ConditionInput {
  const unfinished = [...input.namespaces.keys()].filter(undoing).sort();
  return {
    type: "Ready",
    status: "False",
    reason: "Deleting",
    message:
      `The MeshMigration is being deleted. ${unfinished.length} namespace(s) it had not finished go back to their ` +
      `recorded original first (${unfinished.slice(0, 10).join(", ") || "none"}); namespaces it migrated stay ` +
      "migrated. Then its bookkeeping is removed and it is gone. To abandon it without this, remove its finalizer " +
      "(meshmigration.io/finalizer): the namespaces keep their meshmigration.io/original annotations.",
  };
}

/** One walk; a halting problem or a double-meshed pod anywhere means nothing new starts anywhere. */
function walkOrHalt(
  input: MigrationPlanInput,
  batches: readonly ResolvedBatch[],
  planners: NamespacePlanners,
  undoing: (namespace: string) => boolean,
): Walk {
  const walk = (mayStartAtAll: boolean) =>
    input.spec.rollback === true || input.deleting
      ? walkRollback(input, batches, planners, mayStartAtAll, undoing)
      : walkForward(input, batches, planners, mayStartAtAll);
  if (input.spec.paused && !input.deleting) return walk(false);
  const first = walk(true);
  const halts = first.problems.some((p) => p.halts) || doubleMeshedPods(batches, first).length > 0;
  return halts ? walk(false) : first;
}

/** Soonest of every namespace's own deadline and, while anything is in flight, the resync. */
function requeueAfter(walk: Walk, summary: MigrationSummary): number | undefined {
  const rechecks = [...walk.plans.values()]
    .map((plan) => plan?.recheckAfterMs)
    .filter((ms): ms is number => ms !== undefined);
  const moving = ["Progressing", "RollingBack", "Paused", "Failed", "Pending"].includes(summary.phase);
  const soonest = Math.min(...rechecks, moving ? PROGRESS_RESYNC_MS : Number.POSITIVE_INFINITY);
  return Number.isFinite(soonest) ? soonest : undefined;
}
