// The rollback plan for one namespace: restore the recorded original mesh
// markers (only keys still as the operator left them: a key a user changed
// meanwhile stays as the user left it), undo pod-template rewrites, restart, and
// verify from the pods that they are back on the source mesh.
import type { MarkerChange, Markers, MeshRef } from "../meshes/driver.ts";
import { applyChange, isNoChange, noChange } from "../meshes/markers.ts";
import {
  allNamespaceMarkerKeys,
  namespaceSwitch,
  podOnMesh,
  rewriteTemplateOptIns,
} from "../meshes/registry.ts";
import {
  decodeOriginal,
  decodeTemplateOriginal,
  meshMarkersOf,
  ORIGINAL_ANNOTATION,
  OWNER_ANNOTATION,
  TEMPLATE_ORIGINAL_ANNOTATION,
  type TemplateOriginal,
} from "./bookkeeping.ts";
import type { ControlPlaneFacts, WorkloadFacts } from "./facts.ts";
import {
  mustDrainBeforeEnrolling,
  type NamespacePlan,
  type NamespacePlanInput,
  observeNamespacePods,
  strandedPodsProblem,
  unmanagedPodsOn,
} from "./namespace-plan.ts";
import { describeMesh, planRestarts, type TemplateChange } from "./restarts.ts";

const NONE: MeshRef = { mesh: "none" };

export interface NamespaceRollbackInput
  extends Omit<NamespacePlanInput, "targetControlPlane" | "workloadOverrides"> {
  /** The source mesh's control plane: pods are restarted back into it. */
  sourceControlPlane: ControlPlaneFacts;
}

type MarkerKind = "labels" | "annotations";

/**
 * The change that puts every mesh key back to its recorded original, for keys whose current value
 * is one the operator could have left there (after the forward relabel, or its drain stage).
 */
export function restoreChange(
  source: MeshRef,
  target: MeshRef,
  original: Markers,
  current: Markers,
): MarkerChange {
  const ours = [
    applyChange(original, namespaceSwitch(source, target, original)),
    applyChange(original, namespaceSwitch(source, NONE, original)),
  ];
  const keys = allNamespaceMarkerKeys();
  const change = noChange();
  for (const kind of ["labels", "annotations"] as MarkerKind[]) {
    for (const key of keys[kind]) {
      const now = current[kind][key];
      const before = original[kind][key];
      if (now === before) continue;
      const leftByUs = ours.some((state) => state[kind][key] === now);
      if (!leftByUs) continue; // a user changed it meanwhile: theirs to keep
      if (before === undefined) change.remove[kind].push(key);
      else change.set[kind][key] = before;
    }
  }
  return change;
}

/** Undo of the operator's pod-template rewrite, for keys still as it left them. */
export function templateRestore(
  source: MeshRef,
  target: MeshRef,
  record: TemplateOriginal,
  current: Markers,
): MarkerChange {
  const original: Markers = { labels: { ...current.labels }, annotations: { ...current.annotations } };
  for (const kind of ["labels", "annotations"] as MarkerKind[]) {
    for (const [key, value] of Object.entries(record[kind])) {
      if (value === null) delete original[kind][key];
      else original[kind][key] = value;
    }
  }
  const leftByUs = applyChange(original, rewriteTemplateOptIns(source, target, original).changes);
  const change = noChange();
  for (const kind of ["labels", "annotations"] as MarkerKind[]) {
    for (const [key, value] of Object.entries(record[kind])) {
      const now = current[kind][key];
      if (now === (value ?? undefined) || now !== leftByUs[kind][key]) continue;
      if (value === null) change.remove[kind].push(key);
      else change.set[kind][key] = value;
    }
  }
  return change;
}

export function planNamespaceRollback(input: NamespaceRollbackInput): NamespacePlan {
  const { migration, source, target, ns, now } = input;
  const { base, managed } = observeNamespacePods(input.pods, input.workloads.length, source, target);

  if (ns.markers.annotations[OWNER_ANNOTATION] !== migration) {
    return { ...base, phase: "RolledBack", message: "never changed by this migration: nothing to undo" };
  }
  const original = decodeOriginal(ns.markers.annotations[ORIGINAL_ANNOTATION]);
  if (!original) {
    return {
      ...base,
      phase: "Failed",
      problem: {
        reason: "OriginalStateUnreadable",
        message:
          `Namespace ${ns.name}: its ${ORIGINAL_ANNOTATION} annotation is missing or unreadable, so its original mesh ` +
          "markers cannot be restored safely. Restore the namespace's labels by hand, then remove its " +
          `${OWNER_ANNOTATION} annotation.`,
        halts: true,
      },
      message: "original state unreadable",
    };
  }

  const cpProblem = {
    reason: "SourceControlPlaneNotReady",
    message:
      `The ${describeMesh(source)} control plane is not ready, so nothing in namespace ${ns.name} is restarted back ` +
      `into it: ${input.sourceControlPlane.problems.join("; ")}. The rollback continues once it is ready.`,
    halts: false,
  };

  // Leaving the target for a mesh that captures running pods (ambient): drain the target first.
  const drain = mustDrainBeforeEnrolling(target, source);
  const targetPodsRemain = target.mesh !== "none" && managed.some((p) => podOnMesh(p, target));
  const strandedPods = drain ? unmanagedPodsOn(input.pods, target) : [];
  const stage = drain && (targetPodsRemain || strandedPods.length > 0) ? NONE : source;
  const restore = restoreChange(source, target, original, ns.markers);
  const relabel =
    stage === source
      ? restore
      : // Drain stage: only remove the target's markers that are ours to remove.
        {
          set: { labels: {}, annotations: {} },
          remove: {
            labels: restore.remove.labels.filter((k) =>
              namespaceSwitch(target, NONE, ns.markers).remove.labels.includes(k),
            ),
            annotations: restore.remove.annotations.filter((k) =>
              namespaceSwitch(target, NONE, ns.markers).remove.annotations.includes(k),
            ),
          },
        };
  if (!isNoChange(relabel, ns.markers)) {
    if (!input.mayStart)
      return { ...base, phase: "RollingBack", message: "waiting to restore the namespace" };
    if (!input.sourceControlPlane.ready)
      return { ...base, phase: "Blocked", problem: cpProblem, message: "source control plane not ready" };
    const after = applyChange(ns.markers, relabel);
    return {
      ...base,
      phase: "RollingBack",
      message: `restoring the original mesh markers`,
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

  const restarts = planRestarts({
    migration,
    namespace: ns.name,
    direction: "rollback",
    leaving: target,
    stage,
    final: source,
    workloads: input.workloads,
    pods: managed,
    now,
    rolloutTimeoutMs: input.rolloutTimeoutMs,
    maxConcurrentRollouts: input.maxConcurrentRollouts,
    mayStart: input.mayStart,
    templateChangeFor: (w: WorkloadFacts): TemplateChange | undefined => {
      const record = decodeTemplateOriginal(w.annotations[TEMPLATE_ORIGINAL_ANNOTATION]);
      if (!record) return undefined;
      const change = templateRestore(source, target, record, w.template);
      return { change, dropRecord: true };
    },
  });
  const workloads = { total: input.workloads.length, restarted: restarts.restarted, ready: restarts.ready };
  if (restarts.timedOut.length > 0 || restarts.failedVerification.length > 0) {
    const what = [...restarts.timedOut.map((w) => `${w} timed out`), ...restarts.failedVerification].join(
      "; ",
    );
    return {
      ...base,
      workloads,
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
      ...base,
      workloads,
      phase: "Blocked",
      problem: cpProblem,
      message: "source control plane not ready",
    };
  }
  const actions = restarts.startNow;
  if (restarts.unverified.length === 0 && stage === source) {
    return {
      ...base,
      workloads,
      phase: "RolledBack",
      message: `every pod of ${input.workloads.length} workload(s) is back on ${describeMesh(source)}`,
    };
  }
  if (restarts.unverified.length === 0 && strandedPods.length > 0) {
    return {
      ...base,
      workloads,
      phase: "Blocked",
      problem: strandedPodsProblem(ns.name, target, source, strandedPods),
      message: `waiting for ${strandedPods.length} pod(s) nobody can restart to leave ${describeMesh(target)}`,
    };
  }
  return {
    ...base,
    workloads,
    actions,
    phase: "RollingBack",
    message:
      restarts.rolling > 0 || restarts.toStart.length > 0
        ? `${restarts.rolling} rollout(s) in progress`
        : `waiting for pods of ${restarts.unverified.join(", ")} to show ${describeMesh(stage)}`,
    recheckAfterMs: restarts.recheckAfterMs,
  };
}
