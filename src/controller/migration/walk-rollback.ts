// The rollback walk: every namespace this migration touched, the in-flight ones first, then in
// reverse batch order, at most maxConcurrentNamespaces at once. A namespace no batch lists any
// more is undone too.

import { observeNamespacePods } from "../namespace/observe.ts";
import type { NamespacePlan } from "../namespace/types.ts";
import type { NamespacePlanners } from "./namespace-planners.ts";
import type { MigrationPlanInput, NamespaceProblem, ResolvedBatch, Walk } from "./types.ts";

const REMOVED_FROM_SPEC = "(removed from spec)";

/** A namespace that is gone has nothing left to undo. */
function nothingToUndo(): NamespacePlan {
  const { base } = observeNamespacePods([], 0, { mesh: "none" }, { mesh: "none" });
  return { ...base, phase: "RolledBack", message: "namespace does not exist: nothing to undo" };
}

export function walkRollback(
  input: MigrationPlanInput,
  batches: readonly ResolvedBatch[],
  planners: NamespacePlanners,
  mayStartAtAll: boolean,
  /** Which namespaces to undo; the others are only observed (a deletion keeps migrated ones). */
  undoing: (namespace: string) => boolean = () => true,
): Walk {
  const plans = new Map<string, NamespacePlan | undefined>();
  const problems: NamespaceProblem[] = [];
  const inBatches = batches.flatMap((b) => b.namespaces);
  const strays = [...input.namespaces.keys()].filter(
    (ns) => planners.ownedByUs(ns) && !inBatches.includes(ns),
  );
  // In flight: touched by this migration and not migrated, read from the namespace and its pods
  // (the forward planner, which only reads), never from the status written earlier.
  const wasInFlight = (ns: string) =>
    planners.ownedByUs(ns) && planners.forward(ns, false)?.phase !== "Migrated";
  const reverse = [...strays, ...inBatches].reverse().filter(undoing);
  for (const ns of [...strays, ...inBatches].filter((name) => !undoing(name))) {
    plans.set(ns, planners.forward(ns, false));
  }
  const order = [...reverse.filter(wasInFlight), ...reverse.filter((ns) => !wasInFlight(ns))];

  let active = 0;
  for (const ns of order) {
    // A namespace already rolled back plans no action either way and takes no slot.
    const plan = planners.rollback(ns, mayStartAtAll && active < input.spec.strategy.maxConcurrentNamespaces);
    if (plan && plan.phase !== "RolledBack") active++;
    plans.set(ns, plan ?? nothingToUndo());
    if (plan?.problem) problems.push({ ...plan.problem, namespace: ns });
  }
  const strayBatch: ResolvedBatch = { name: REMOVED_FROM_SPEC, namespaces: strays, missing: new Set() };
  return {
    plans,
    problems,
    currentBatch: undefined,
    holding: false,
    batchBlocked: undefined,
    extraBatches: strays.length > 0 ? [strayBatch] : [],
  };
}
