// The forward walk over the batches, in order: a batch starts once the one before it is migrated
// (and the gate allows), after its preflight; within it at most maxConcurrentNamespaces move at
// once; the namespaces of later batches are only observed.
import type { MigrationWarning } from "../../api/schema.ts";
import type { NamespacePlan, Problem } from "../namespace/types.ts";
import { batchHold, batchNamespaceProblems } from "./batches.ts";
import type { NamespacePlanners } from "./namespace-planners.ts";
import type { MigrationPlanInput, NamespaceProblem, ResolvedBatch, Walk } from "./types.ts";

/** Blocking preflight warnings hold the start of the migration, unless acknowledged. */
function preflightHold(
  warnings: readonly MigrationWarning[] | undefined,
  acknowledged: boolean,
): Problem | undefined {
  const blocking = (warnings ?? []).filter((w) => w.severity === "Blocking");
  if (blocking.length === 0 || acknowledged) return undefined;
  return {
    reason: "BlockingPreflightWarning",
    message:
      `The migration does not start while ${blocking.length} blocking warning(s) stand: ` +
      blocking.map((w) => `[${w.code}${w.namespace ? ` ${w.namespace}` : ""}] ${w.message}`).join(" ") +
      " Resolve them, or acknowledge them with spec.strategy.blockOnWarnings: false.",
    halts: false,
  };
}

export function walkForward(
  input: MigrationPlanInput,
  batches: readonly ResolvedBatch[],
  planners: NamespacePlanners,
  mayStartAtAll: boolean,
): Walk {
  const { spec } = input;
  const plans = new Map<string, NamespacePlan | undefined>();
  const problems: NamespaceProblem[] = [];
  const observe = (batch: ResolvedBatch) => {
    for (const ns of batch.namespaces) plans.set(ns, planners.forward(ns, false));
  };
  let currentBatch: string | undefined;
  let holding = false;
  let batchBlocked: Problem | undefined;

  for (const [index, batch] of batches.entries()) {
    const previous = batches[index - 1];
    const started = batch.namespaces.some(planners.ownedByUs);
    if (currentBatch !== undefined || holding) {
      // A later batch: observe only (namespaces may already be ours after a spec edit).
      observe(batch);
      continue;
    }
    if (previous && spec.stopAfterBatch === previous.name && !started) {
      holding = true;
      observe(batch);
      continue;
    }

    // Preflight before the first change in a batch: no blocking warning, every namespace free. A
    // blocking warning that appears mid-migration holds every batch that has not started.
    if (!started) batchBlocked = preflightHold(input.warnings, spec.strategy.blockOnWarnings === false);
    if (!started && batchBlocked === undefined) {
      batchBlocked = batchHold(batch, batchNamespaceProblems(batch, input.namespaces, input.name));
    }

    // Namespaces this migration has started go on whatever the slots; until verified, each holds
    // a slot, and a migrated one frees it. Their plans are made once, first, to count the slots.
    const mayContinue = mayStartAtAll && batchBlocked === undefined;
    const startedPlans = new Map(
      batch.namespaces
        .filter(planners.ownedByUs)
        .map((ns) => [ns, planners.forward(ns, mayContinue)] as const),
    );
    let inFlight = [...startedPlans.values()].filter((plan) => plan?.phase !== "Migrated").length;
    for (const ns of batch.namespaces) {
      const owned = startedPlans.has(ns);
      const plan = owned
        ? startedPlans.get(ns)
        : planners.forward(ns, mayContinue && inFlight < spec.strategy.maxConcurrentNamespaces);
      plans.set(ns, plan);
      if (plan && plan.phase !== "Migrated" && !owned && plan.actions.length > 0) inFlight++;
      if (plan?.problem) problems.push({ ...plan.problem, namespace: ns });
    }
    const complete =
      batch.missing.size === 0 && batch.namespaces.every((ns) => plans.get(ns)?.phase === "Migrated");
    if (!complete) currentBatch = batch.name;
  }
  return { plans, problems, currentBatch, holding, batchBlocked, extraBatches: [] };
}
