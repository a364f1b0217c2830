// The conditions a summary means, and the Events worth sending for them: Ready says whether the
// cluster matches the spec, Progressing whether namespaces are moving, Degraded what needs a
// person, DoubleMeshDetected and Paused what they say.
import type { StepEvent } from "../actions.ts";
import { RESTART_STAMP_ANNOTATION } from "../bookkeeping.ts";
import type { Condition, ConditionInput } from "../conditions.ts";
import { newlyRaised } from "../conditions.ts";
import type { Problem } from "../namespace/types.ts";
import type { MigrationSummary } from "./status.ts";
import type { MigrationPhase, MigrationPlanInput, MigrationSpecView, Walk } from "./types.ts";

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

/**
 * An Event for each namespace at its end (verified, or rolled back), written once: its name comes
 * from the facts of that end (the namespace, the direction, the restart stamps of its workloads),
 * so a new end (another restart) is a new Event and the same end seen again is not.
 */
export function transitionEvents(input: MigrationPlanInput, summary: MigrationSummary): StepEvent[] {
  const rollingBack = input.spec.rollback === true || input.deleting === true;
  const doneIn = rollingBack ? "RolledBack" : "Migrated";
  return summary.namespaces
    .filter((ns) => ns.phase === doneIn && input.namespaces.has(ns.name))
    .map((ns) => ({
      type: "Normal",
      reason: rollingBack ? "NamespaceRolledBack" : "NamespaceVerified",
      message: `Namespace ${ns.name} (batch ${ns.batch}): ${ns.message ?? "verified"}`,
      once: onceName(input, ns.name, rollingBack ? "rollback" : "forward"),
    }));
}

/** "<migration>.<namespace>.<direction>.<digest of the restart stamps>", a valid Event name. */
function onceName(input: MigrationPlanInput, namespace: string, direction: string): string {
  const stamps = input
    .workloadsIn(namespace)
    .map((w) => `${w.kind}/${w.name}=${w.template.annotations[RESTART_STAMP_ANNOTATION] ?? ""}`)
    .sort()
    .join(",");
  const name = `${input.name}.${namespace}.${direction}.${fnv1a(stamps)}`;
  return name.length <= 253 ? name : `${input.name.slice(0, 63)}.${fnv1a(name)}`;
}

function fnv1a(text: string): string {
  let hash = 2166136261;
  for (const char of text) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 16777619);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
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
