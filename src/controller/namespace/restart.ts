// Step 6: restart the workloads so their pods are re-created into the stage mesh (rewriting
// pod-template opt-ins in the same patch), at most maxConcurrentRollouts at once, each bounded by
// rolloutTimeout, and verify from the pods; then the namespace is migrated, or waits for what
// holds it.
import type { MarkerChange, Markers } from "../../meshes/driver.ts";
import { hasChanges } from "../../meshes/markers.ts";
import { rewriteTemplateOptIns } from "../../meshes/registry.ts";
import {
  encodeTemplateOriginal,
  TEMPLATE_ORIGINAL_ANNOTATION,
  type TemplateOriginal,
} from "../bookkeeping.ts";
import { describeMesh, planRestarts, type RestartPlan } from "../restarts.ts";
import type { ForwardStep } from "./forward-step.ts";
import {
  migratedMessage,
  strandedPodsProblem,
  targetControlPlaneProblem,
  verificationFailedMessage,
} from "./messages.ts";
import type { NamespacePlan } from "./types.ts";

/** The template keys' values before the rewrite (null: absent), recorded on the workload. */
function templateOriginalFor(change: MarkerChange, template: Markers): TemplateOriginal {
  const original: TemplateOriginal = { labels: {}, annotations: {} };
  for (const key of [...Object.keys(change.set.labels), ...change.remove.labels]) {
    original.labels[key] = template.labels[key] ?? null;
  }
  for (const key of [...Object.keys(change.set.annotations), ...change.remove.annotations]) {
    original.annotations[key] = template.annotations[key] ?? null;
  }
  return original;
}

export function restartIntoStage(step: ForwardStep): NamespacePlan {
  const restarts = forwardRestarts(step);
  const settled = { ...step.base, workloads: restartCounts(step, restarts) };
  return (
    haltedRestarts(step, restarts, settled) ??
    waitingForControlPlane(step, restarts, settled) ??
    migrated(step, restarts, settled) ??
    waitingForStrandedPods(step, restarts, settled) ??
    restarting(step, restarts, settled)
  );
}

type Settled = Omit<NamespacePlan, "phase" | "message">;

/** The restarts that are due, from the shared restart planner, with the template rewrite of each. */
function forwardRestarts({ input, managed, stage }: ForwardStep): RestartPlan {
  const { source, target } = input;
  return planRestarts({
    migration: input.migration,
    namespace: input.ns.name,
    direction: "forward",
    leaving: source,
    stage,
    final: target,
    workloads: input.workloads,
    pods: managed,
    now: input.now,
    rolloutTimeoutMs: input.rolloutTimeoutMs,
    maxConcurrentRollouts: input.maxConcurrentRollouts,
    mayStart: input.mayStart,
    templateChangeFor: (w) => {
      if (input.workloadOverrides !== "Rewrite") return undefined;
      const change = rewriteTemplateOptIns(source, target, w.template).changes;
      if (!hasChanges(change)) return undefined;
      return {
        change,
        recordOriginal:
          w.annotations[TEMPLATE_ORIGINAL_ANNOTATION] === undefined
            ? encodeTemplateOriginal(templateOriginalFor(change, w.template))
            : undefined,
      };
    },
  });
}

function restartCounts({ input }: ForwardStep, restarts: RestartPlan): NamespacePlan["workloads"] {
  return { total: input.workloads.length, restarted: restarts.restarted, ready: restarts.ready };
}

/** A rollout past its deadline, or pods still wrong after every retry: the migration halts. */
function haltedRestarts(
  { input, managed, stage, base }: ForwardStep,
  restarts: RestartPlan,
  settled: Settled,
): NamespacePlan | undefined {
  const { ns, source } = input;
  if (restarts.timedOut.length > 0) {
    const timedOut = restarts.timedOut.join(", ");
    return {
      ...settled,
      phase: "Failed",
      problem: {
        reason: "RolloutTimeout",
        message:
          `Namespace ${ns.name}: ${timedOut} did not finish rolling out within ` +
          `${Math.round(input.rolloutTimeoutMs / 1000)}s. Check the workload's pods and events, fix the cause, then ` +
          "the migration resumes; raise spec.strategy.rolloutTimeout if the workload is just slow, or set " +
          "spec.rollback: true to undo.",
        halts: true,
      },
      message: `rollout timed out: ${timedOut}`,
    };
  }
  if (restarts.failedVerification.length === 0) return undefined;
  return {
    ...settled,
    phase: "Failed",
    problem: {
      reason: "VerificationFailed",
      message: verificationFailedMessage(
        ns.name,
        source,
        stage,
        restarts.failedVerification,
        restarts.unmeshedAfterRestart,
        managed,
        base.pods.source,
      ),
      halts: true,
    },
    message: `pods not verified on ${describeMesh(stage)}`,
  };
}

/** Restarts are due but the target's control plane is not ready: none starts until it is. */
function waitingForControlPlane(
  { input }: ForwardStep,
  restarts: RestartPlan,
  settled: Settled,
): NamespacePlan | undefined {
  if (restarts.toStart.length === 0 || input.targetControlPlane.ready) return undefined;
  return {
    ...settled,
    phase: "Blocked",
    problem: targetControlPlaneProblem(input.target, input.ns.name, input.targetControlPlane),
    message: "target control plane not ready",
  };
}

/** Every workload verified on the target, from its pods. */
function migrated({ input, managed, stage }: ForwardStep, restarts: RestartPlan, settled: Settled) {
  if (restarts.unverified.length > 0 || stage !== input.target) return undefined;
  return {
    ...settled,
    phase: "Migrated" as const,
    message: migratedMessage(input.target, input.workloads.length, managed),
  };
}

/** Drained, but pods no workload manages still run the source's proxy: the join waits for them. */
function waitingForStrandedPods(
  { input, strandedPods }: ForwardStep,
  restarts: RestartPlan,
  settled: Settled,
): NamespacePlan | undefined {
  if (restarts.unverified.length > 0 || strandedPods.length === 0) return undefined;
  return {
    ...settled,
    phase: "Blocked",
    problem: strandedPodsProblem(input.ns.name, input.source, input.target, strandedPods),
    message: `waiting for ${strandedPods.length} pod(s) nobody can restart to leave ${describeMesh(input.source)}`,
  };
}

/** Rollouts running or waiting for a slot, or pods still to show the stage mesh. */
function restarting({ input, stage }: ForwardStep, restarts: RestartPlan, settled: Settled): NamespacePlan {
  const actions = restarts.startNow;
  const phase = restarts.rolling > 0 || restarts.toStart.length > 0 ? "Restarting" : "Verifying";
  const where =
    stage.mesh === "none" ? `out of ${describeMesh(input.source)}` : `into ${describeMesh(stage)}`;
  return {
    ...settled,
    actions,
    phase,
    message:
      // No counts: a moving namespace's message is written when its phase begins and not again on
      // its own until the phase changes (status-writes.ts), so a count in it would go stale.
      phase === "Restarting"
        ? `restarting its workloads ${where}, at most ${input.maxConcurrentRollouts} at once` +
          (input.mayStart ? "" : " (paused: nothing new starts)")
        : `waiting for pods of ${restarts.unverified.join(", ")} to show ${describeMesh(stage)}`,
    recheckAfterMs: restarts.recheckAfterMs,
  };
}
