// The conditions a summary means, and the Events worth sending for them: Ready says whether the
// cluster matches the spec, Progressing whether namespaces are moving, Degraded what needs a
// person, DoubleMeshDetected and Paused what they say.
import type { StepEvent } from "../actions.ts";
import type { Condition, ConditionInput } from "../conditions.ts";
import { newlyRaised } from "../conditions.ts";
import type { Problem } from "../namespace/types.ts";
import type { MigrationSummary } from "./status.ts";
import type { MigrationPhase, MigrationSpecView, Walk } from "./types.ts";

export function migrationConditions(
  spec: MigrationSpecView,
  summary: MigrationSummary,
  walk: Walk,
): ConditionInput[] {
  const { phase, blockingProblem, doubleMeshed } = summary;
  const nextBatch = summary.batches.find((b) => b.name !== spec.stopAfterBatch && b.phase !== "Migrated");
  return [
    readyCondition(phase, spec, nextBatch?.name, blockingProblem),
    progressingCondition(spec, summary, walk),
    {
      type: "Degraded",
      status: blockingProblem || doubleMeshed.length > 0 ? "True" : "False",
      reason: doubleMeshed.length > 0 ? "DoubleMeshDetected" : (blockingProblem?.reason ?? "AsExpected"),
      message:
        doubleMeshed.length > 0
          ? doubleMeshMessage(doubleMeshed)
          : (blockingProblem?.message ?? "No problem found"),
    },
    {
      type: "DoubleMeshDetected",
      status: doubleMeshed.length > 0 ? "True" : "False",
      reason: doubleMeshed.length > 0 ? "PodsInTwoMeshes" : "NoDoubleMeshedPods",
      message: doubleMeshed.length > 0 ? doubleMeshMessage(doubleMeshed) : "No pod is meshed twice",
    },
    {
      type: "Paused",
      status: spec.paused ? "True" : "False",
      reason: spec.paused ? "PausedBySpec" : "NotPaused",
      message: spec.paused
        ? "spec.paused is true: no new namespace step or restart starts; rollouts already running settle. " +
          "Set spec.paused: false to resume."
        : "Not paused",
    },
    { type: "InvalidSpec", status: "False", reason: "SpecValid", message: "The spec is valid" },
  ];
}

function progressingCondition(
  spec: MigrationSpecView,
  summary: MigrationSummary,
  walk: Walk,
): ConditionInput {
  const { phase, blockingProblem, done, total } = summary;
  const moving = (phase === "Progressing" || phase === "RollingBack") && !blockingProblem;
  return {
    type: "Progressing",
    status: moving ? "True" : "False",
    reason:
      phase === "RollingBack" && !blockingProblem
        ? "RollingBack"
        : phase === "Progressing" && !blockingProblem
          ? "NamespacesMoving"
          : phase === "Progressing" || phase === "Pending"
            ? (blockingProblem?.reason ?? "Waiting")
            : phase,
    message:
      phase === "RollingBack" && !blockingProblem
        ? `${done}/${total} namespaces rolled back to ${spec.source.mesh}`
        : phase === "Progressing" && !blockingProblem
          ? `Batch ${walk.currentBatch}: ${done}/${total} namespaces migrated`
          : (blockingProblem?.message ?? `Migration is ${phase}`),
  };
}

/** An Event for each condition that was just raised (Degraded as a Warning, Ready and Paused as Normal). */
export function conditionEvents(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  phase: MigrationPhase,
): StepEvent[] {
  return newlyRaised(previous, next)
    .filter((c) => c.type === "Degraded" || c.type === "Paused" || c.type === "Ready")
    .map((c) => ({
      type: c.type === "Degraded" ? "Warning" : "Normal",
      reason: c.type === "Degraded" ? c.reason : c.type === "Paused" ? "Paused" : phase,
      message: c.message,
    }));
}

/** An Event for each namespace that reached its end (verified, or rolled back) since the last status. */
export function transitionEvents(
  spec: MigrationSpecView,
  summary: MigrationSummary,
  previousPhases: ReadonlyMap<string, string> | undefined,
): StepEvent[] {
  const rollingBack = spec.rollback === true;
  const doneIn = rollingBack ? "RolledBack" : "Migrated";
  return summary.namespaces
    .filter((ns) => {
      const before = previousPhases?.get(ns.name);
      return ns.phase === doneIn && before !== undefined && before !== doneIn;
    })
    .map((ns) => ({
      type: "Normal",
      reason: rollingBack ? "NamespaceRolledBack" : "NamespaceVerified",
      message: `Namespace ${ns.name} (batch ${ns.batch}): ${ns.message ?? "verified"}`,
    }));
}

function doubleMeshMessage(pods: string[]): string {
  const shown = pods.slice(0, 10).join(", ");
  return (
    `${pods.length} pod(s) run two meshes' proxies at once: ${shown}${pods.length > 10 ? ", ..." : ""}. ` +
    "The migration is halted: nothing new starts. Remove the stray opt-in or namespace marker that let the second " +
    "mesh in, restart those pods, and the migration resumes by itself."
  );
}

function readyCondition(
  phase: MigrationPhase,
  spec: MigrationSpecView,
  nextBatch: string | undefined,
  problem: Problem | undefined,
): ConditionInput {
  if (phase === "Succeeded") {
    return {
      type: "Ready",
      status: "True",
      reason: "Succeeded",
      message: `Every namespace is verified on ${spec.target.mesh}`,
    };
  }
  if (phase === "RolledBack") {
    return {
      type: "Ready",
      status: "True",
      reason: "RolledBack",
      message:
        `Every namespace this migration touched is back to its recorded original markers and its pods are on ` +
        `${spec.source.mesh}. Set spec.rollback: false to migrate forward again.`,
    };
  }
  if (phase === "Holding") {
    return {
      type: "Ready",
      status: "True",
      reason: "HoldingAtBatch",
      message:
        `Batch ${spec.stopAfterBatch} and those before it are verified; holding as spec.stopAfterBatch asks. ` +
        `To advance to ${nextBatch ?? "the next batch"}, set spec.stopAfterBatch to a later batch or remove it.`,
    };
  }
  return {
    type: "Ready",
    status: "False",
    reason: problem?.reason ?? phase,
    message: problem?.message ?? `Migration is ${phase}`,
  };
}
