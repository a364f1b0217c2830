// The migration-level planner: a pure function from a MeshMigration's spec and the observed
// cluster to the next actions and the status to publish. It reads like the runbook:
//   1. resolve which namespaces each batch moves;
//   2. walk the batches (forward, or the rollback order) and plan each namespace;
//   3. if anything halts (a halting problem, a double-meshed pod), walk again with nothing new
//      starting, so running rollouts settle and nothing else moves;
//   4. summarize the walk as status, conditions and Events.
import { mergeConditions } from "../conditions.ts";
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
  const walk = walkOrHalt(input, batches, planners);
  const summary = summarize(spec, batches, walk, planners);
  const conditionInputs = migrationConditions(spec, summary, walk);
  return {
    actions: [...walk.plans.values()].flatMap((plan) => plan?.actions ?? []),
    events: [
      ...conditionEvents(input.previousConditions, conditionInputs, summary.phase),
      ...transitionEvents(spec, summary, input.previousNamespacePhases),
    ],
    requeueAfterMs: requeueAfter(walk, summary),
    status: {
      phase: summary.phase,
      observedGeneration: input.generation,
      currentBatch: walk.currentBatch ?? (walk.holding ? spec.stopAfterBatch : batches.at(-1)?.name),
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

/** One walk; a halting problem or a double-meshed pod anywhere means nothing new starts anywhere. */
function walkOrHalt(
  input: MigrationPlanInput,
  batches: readonly ResolvedBatch[],
  planners: NamespacePlanners,
): Walk {
  const walk = (mayStartAtAll: boolean) =>
    input.spec.rollback === true
      ? walkRollback(input, batches, planners, mayStartAtAll)
      : walkForward(input, batches, planners, mayStartAtAll);
  if (input.spec.paused) return walk(false);
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
