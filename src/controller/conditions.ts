// metav1.Condition bookkeeping: a condition keeps its lastTransitionTime until
// its status really changes, so `kubectl describe` shows when things happened.

import type { Condition } from "../api/schema.ts";

export type { Condition };

export type ConditionInput = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

/** The new conditions, carrying over lastTransitionTime where a condition's status did not change. */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  generation: number,
  now: Date,
): Condition[] {
  return next.map((condition) => {
    const before = previous?.find((c) => c.type === condition.type);
    const lastTransitionTime =
      before && before.status === condition.status
        ? before.lastTransitionTime
        : now.toISOString().replace(/\.\d+Z$/, "Z");
    return { ...condition, observedGeneration: generation, lastTransitionTime };
  });
}

/** Conditions that turned True, or changed reason while True: the ones worth an Event. */
export function newlyRaised(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
): ConditionInput[] {
  return next.filter((condition) => {
    const before = previous?.find((c) => c.type === condition.type);
    return condition.status === "True" && (before?.status !== "True" || before.reason !== condition.reason);
  });
}
