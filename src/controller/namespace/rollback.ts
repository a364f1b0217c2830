// The rollback runbook of one namespace: restore the recorded original mesh markers, undo the
// pod-template rewrites, restart, and verify from the pods that they are back on the source
// mesh. As forward, the first step that has something to say decides the plan.
import type { Markers, MeshRef } from "../../meshes/driver.ts";
import { applyChange, isNoChange } from "../../meshes/markers.ts";
import { namespaceOnMesh, podOnMesh } from "../../meshes/registry.ts";
import {
  decodeOriginal,
  decodeTemplateOriginal,
  meshMarkersOf,
  ORIGINAL_ANNOTATION,
  OWNER_ANNOTATION,
  TEMPLATE_ORIGINAL_ANNOTATION,
} from "../bookkeeping.ts";
import type { ControlPlaneFacts, PodObservation } from "../facts.ts";
import { describeMesh, planRestarts, type RestartPlan } from "../restarts.ts";
import { strandedPodsProblem } from "./messages.ts";
import { mustDrainBeforeEnrolling, observeNamespacePods, unmanagedPodsOn } from "./observe.ts";
import { drainChange, restoreChange, templateRestore } from "./restore.ts";
import type { NamespacePlan, NamespacePlanInput, Problem } from "./types.ts";
import { waypointBeforeRejoining } from "./waypoint-rejoin.ts";
import { releaseAfterRollback } from "./waypoint-release.ts";

export { restoreChange, templateRestore } from "./restore.ts";

const NONE: MeshRef = { mesh: "none" };

export interface NamespaceRollbackInput
  extends Omit<NamespacePlanInput, "targetControlPlane" | "workloadOverrides"> {
  /** The source mesh's control plane: pods are restarted back into it. */
  sourceControlPlane: ControlPlaneFacts;
}

interface RollbackStep {
  input: NamespaceRollbackInput;
  base: Pick<NamespacePlan, "actions" | "workloads" | "pods" | "doubleMeshedPods" | "unmanagedPods">;
  managed: PodObservation[];
  /** The recorded original markers (undefined: missing or unreadable). */
  original: Markers | undefined;
  /** Where the namespace moves now: the source, or no mesh while the target drains first. */
  stage: MeshRef;
  /**
   * The source, when the recorded original enrolled it; otherwise (a namespace that was on no
   * mesh, or another one, when the migration took it) undefined: its pods go back wherever the
   * restored markers put them, and only have to leave the target.
   */
  home: MeshRef | undefined;
  strandedPods: string[];
}

export function planNamespaceRollback(input: NamespaceRollbackInput): NamespacePlan {
  const step = rollbackStep(input);
  const settled =
    neverOurs(step) ??
    originalUnreadable(step) ??
    waypointBeforeRejoining(step) ??
    restoreMarkers(step) ??
    restartBack(step);
  // Pods back on their sidecars first; then the waypoint this migration set up.
  return releaseAfterRollback(input, settled);
}

function rollbackStep(input: NamespaceRollbackInput): RollbackStep {
  const { source, target, ns } = input;
  const { base, managed } = observeNamespacePods(input.pods, input.workloads.length, source, target);
  // Leaving the target for a mesh that captures running pods (ambient): drain the target first.
  const drain = mustDrainBeforeEnrolling(target, source);
  const targetPodsRemain = target.mesh !== "none" && managed.some((p) => podOnMesh(p, target));
  const strandedPods = drain ? unmanagedPodsOn(input.pods, target) : [];
  const stage = drain && (targetPodsRemain || strandedPods.length > 0) ? NONE : source;
  const original = decodeOriginal(ns.markers.annotations[ORIGINAL_ANNOTATION]);
  const home = !original || namespaceOnMesh(original, source) ? source : undefined;
  return { input, base, managed, original, stage: home ? stage : NONE, home, strandedPods };
}

function neverOurs({ input, base }: RollbackStep): NamespacePlan | undefined {
  if (input.ns.markers.annotations[OWNER_ANNOTATION] === input.migration) return undefined;
  return { ...base, phase: "RolledBack", message: "never changed by this migration: nothing to undo" };
}

function originalUnreadable({ input, base, original }: RollbackStep): NamespacePlan | undefined {
  if (original) return undefined;
  return {
    ...base,
    phase: "Failed",
    problem: {
      reason: "OriginalStateUnreadable",
      message:
        `Namespace ${input.ns.name}: its ${ORIGINAL_ANNOTATION} annotation is missing or unreadable, so its ` +
        "original mesh markers cannot be restored safely. Restore the namespace's labels by hand, then remove " +
        `its ${OWNER_ANNOTATION} annotation.`,
      halts: true,
    },
    message: "original state unreadable",
  };
}

function sourceControlPlaneProblem(input: NamespaceRollbackInput): Problem {
  return {
    reason: "SourceControlPlaneNotReady",
    message:
      `The ${describeMesh(input.source)} control plane is not ready, so nothing in namespace ${input.ns.name} is ` +
      `restarted back into it: ${input.sourceControlPlane.problems.join("; ")}. The rollback continues once it is ready.`,
    halts: false,
  };
}

/** The original markers back in one patch (or, while draining first, the target's markers off). */
function restoreMarkers(step: RollbackStep): NamespacePlan | undefined {
  const { input, base, original, stage } = step;
  const { ns, source, target } = input;
  if (!original) return undefined;
  const restore = restoreChange(source, target, original, ns.markers);
  const relabel =
    stage === source || (stage.mesh === "none" && !step.home)
      ? restore
      : drainChange(target, restore, ns.markers);
  if (isNoChange(relabel, ns.markers)) return undefined;
  if (!input.mayStart) return { ...base, phase: "RollingBack", message: "waiting to restore the namespace" };
  if (!input.sourceControlPlane.ready) {
    return {
      ...base,
      phase: "Blocked",
      problem: sourceControlPlaneProblem(input),
      message: "source control plane not ready",
    };
  }
  const after = applyChange(ns.markers, relabel);
  return {
    ...base,
    phase: "RollingBack",
    message: "restoring the original mesh markers",
    actions: [
      {
        type: "Relabel",
        namespace: ns.name,
        resourceVersion: ns.resourceVersion,
        change: relabel,
        event: {
          type: "Normal",
          reason: "NamespaceRestored",
          message:
            `Namespace ${ns.name}: ${stage === source ? "restored its original mesh markers" : `left ${describeMesh(target)} first`}` +
            ` (now ${JSON.stringify(meshMarkersOf(after))})`,
        },
      },
    ],
  };
}

/** Restart the workloads back into the source, undoing template rewrites, and verify. */
function restartBack(step: RollbackStep): NamespacePlan {
  const { input, base, stage, strandedPods } = step;
  const { ns, source, target } = input;
  const restarts = rollbackRestarts(step);
  const settled = {
    ...base,
    workloads: { total: input.workloads.length, restarted: restarts.restarted, ready: restarts.ready },
  };
  if (restarts.timedOut.length > 0 || restarts.failedVerification.length > 0) {
    const what = [...restarts.timedOut.map((w) => `${w} timed out`), ...restarts.failedVerification].join(
      "; ",
    );
    return {
      ...settled,
      phase: "Failed",
      problem: {
        reason: restarts.timedOut.length > 0 ? "RolloutTimeout" : "VerificationFailed",
        message:
          `Namespace ${ns.name}: the rollback could not bring every pod back to ${describeMesh(source)}: ${what}. ` +
          "Check the workloads' pods and events and fix the cause; the rollback resumes by itself.",
        halts: true,
      },
      message: "rollback halted",
    };
  }
  if (restarts.toStart.length > 0 && !input.sourceControlPlane.ready) {
    return {
      ...settled,
      phase: "Blocked",
      problem: sourceControlPlaneProblem(input),
      message: "source control plane not ready",
    };
  }
  if (restarts.unverified.length === 0 && (stage === source || !step.home)) {
    return {
      ...settled,
      phase: "RolledBack",
      message: step.home
        ? `every pod of ${input.workloads.length} workload(s) is back on ${describeMesh(source)}`
        : `back to its recorded original markers; no pod of ${input.workloads.length} workload(s) is on ${describeMesh(target)}`,
    };
  }
  if (restarts.unverified.length === 0 && strandedPods.length > 0) {
    return {
      ...settled,
      phase: "Blocked",
      problem: strandedPodsProblem(ns.name, target, source, strandedPods),
      message: `waiting for ${strandedPods.length} pod(s) nobody can restart to leave ${describeMesh(target)}`,
    };
  }
  const where = stage.mesh === "none" ? `out of ${describeMesh(target)}` : `back into ${describeMesh(stage)}`;
  return {
    ...settled,
    actions: restarts.startNow,
    phase: "RollingBack",
    message:
      // No counts: a moving namespace's message is written when its phase begins and not again on
      // its own until the phase changes (status-writes.ts), so a count in it would go stale.
      restarts.rolling > 0 || restarts.toStart.length > 0
        ? `restarting its workloads ${where}, at most ${input.maxConcurrentRollouts} at once`
        : `waiting for pods of ${restarts.unverified.join(", ")} to show ${describeMesh(stage)}`,
    recheckAfterMs: restarts.recheckAfterMs,
  };
}

function rollbackRestarts({ input, managed, stage, home }: RollbackStep): RestartPlan {
  const { source, target } = input;
  return planRestarts({
    migration: input.migration,
    namespace: input.ns.name,
    direction: "rollback",
    leaving: target,
    stage,
    final: home,
    workloads: input.workloads,
    pods: managed,
    now: input.now,
    rolloutTimeoutMs: input.rolloutTimeoutMs,
    maxConcurrentRollouts: input.maxConcurrentRollouts,
    mayStart: input.mayStart,
    templateChangeFor: (w) => {
      const record = decodeTemplateOriginal(w.annotations[TEMPLATE_ORIGINAL_ANNOTATION]);
      if (!record) return undefined;
      return { change: templateRestore(source, target, record, w.template), dropRecord: true };
    },
  });
}
