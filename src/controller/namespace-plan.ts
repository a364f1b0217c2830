// The forward plan for one namespace, as a pure function of what the cluster
// shows: record → relabel → restart (rewriting template opt-ins) → verify from
// the pods. Every step is derived from facts on the objects themselves, so a
// restarted operator picks up exactly where the cluster is.
import type { NamespacePhase } from "../api/schema.ts";
import type { MarkerChange, Markers, MeshRef } from "../meshes/driver.ts";
import { applyChange, hasChanges, isNoChange } from "../meshes/markers.ts";
import {
  driverFor,
  isDoubleMeshed,
  meshesOfPod,
  namespaceMeshes,
  namespaceOnMesh,
  namespaceSwitch,
  podOnMesh,
  rewriteTemplateOptIns,
} from "../meshes/registry.ts";
import type { Action } from "./actions.ts";
import {
  decodeOriginal,
  encodeTemplateOriginal,
  meshMarkersOf,
  ORIGINAL_ANNOTATION,
  OWNER_ANNOTATION,
  TEMPLATE_ORIGINAL_ANNOTATION,
  type TemplateOriginal,
} from "./bookkeeping.ts";
import type { ControlPlaneFacts, NamespaceFacts, PodObservation, WorkloadFacts } from "./facts.ts";
import { describeMesh, MAX_RESTART_ATTEMPTS, planRestarts, workloadRef } from "./restarts.ts";

export { MAX_RESTART_ATTEMPTS } from "./restarts.ts";

export type { NamespacePhase };

export interface NamespacePlanInput {
  migration: string;
  source: MeshRef;
  target: MeshRef;
  workloadOverrides: "Rewrite" | "Fail";
  maxConcurrentRollouts: number;
  rolloutTimeoutMs: number;
  ns: NamespaceFacts;
  workloads: WorkloadFacts[];
  pods: PodObservation[];
  targetControlPlane: ControlPlaneFacts;
  now: number;
  /** False while paused or halted: nothing new starts; rollouts already running settle. */
  mayStart: boolean;
}

export interface Problem {
  reason: string;
  message: string;
  /** A halting problem stops the whole migration; others only hold this namespace. */
  halts: boolean;
}

export interface PodCounts {
  target: number;
  source: number;
  unmeshed: number;
  doubleMeshed: number;
}

export interface NamespacePlan {
  phase: NamespacePhase;
  actions: Action[];
  workloads: { total: number; restarted: number; ready: number };
  pods: PodCounts;
  doubleMeshedPods: string[];
  unmanagedPods: string[];
  problem?: Problem | undefined;
  message: string;
  /** Look again after this long even without events (a rollout deadline). */
  recheckAfterMs?: number | undefined;
}

const NONE: MeshRef = { mesh: "none" };

/** What every namespace plan reports about its pods, whatever the step. */
export function observeNamespacePods(
  pods: readonly PodObservation[],
  workloadCount: number,
  source: MeshRef,
  target: MeshRef,
) {
  const live = pods.filter((p) => p.phase !== "Succeeded" && p.phase !== "Failed");
  const managed = live.filter((p) => p.owner !== undefined);
  const doubleMeshedPods = live.filter((p) => isDoubleMeshed(p)).map((p) => p.metadata.name);
  const counts: PodCounts = {
    target: managed.filter((p) => podOnMesh(p, target)).length,
    source: managed.filter((p) => source.mesh !== "none" && podOnMesh(p, source)).length,
    unmeshed: managed.filter((p) => meshesOfPod(p).length === 0).length,
    doubleMeshed: doubleMeshedPods.length,
  };
  const base = {
    actions: [] as Action[],
    workloads: { total: workloadCount, restarted: 0, ready: 0 },
    pods: counts,
    doubleMeshedPods,
    unmanagedPods: live.filter((p) => p.unmanaged).map((p) => p.metadata.name),
  };
  return { base, managed };
}

/**
 * Whether the namespace must first leave the source (and its pods be restarted out of it) before
 * it may enroll in the target: a mesh that enrolls running pods without a restart (ambient) would
 * otherwise capture pods still carrying the source's sidecar.
 */
export function mustDrainBeforeEnrolling(source: MeshRef, target: MeshRef): boolean {
  if (source.mesh === "none" || target.mesh === "none") return false;
  const targetDriver = driverFor(target.mesh);
  const sourceDriver = driverFor(source.mesh);
  return (
    !targetDriver.joinRequiresRestart &&
    sourceDriver.leaveRequiresRestart &&
    !(targetDriver.skipsPodsMeshedBy ?? []).includes(source.mesh)
  );
}

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

export function planNamespaceForward(input: NamespacePlanInput): NamespacePlan {
  const { migration, source, target, ns, now } = input;
  const { base, managed } = observeNamespacePods(input.pods, input.workloads.length, source, target);
  const cpProblem = (): Problem => ({
    reason: "TargetControlPlaneNotReady",
    message:
      `The ${describeMesh(target)} control plane is not ready, so nothing in namespace ${ns.name} is restarted: ` +
      `${input.targetControlPlane.problems.join("; ")}. The migration continues on its own once it is ready.`,
    halts: false,
  });

  const owner = ns.markers.annotations[OWNER_ANNOTATION];
  if (owner !== undefined && owner !== migration) {
    return {
      ...base,
      phase: "Blocked",
      problem: {
        reason: "NamespaceOwnedByAnotherMigration",
        message: `Namespace ${ns.name} is being migrated by MeshMigration ${owner}; remove it from one of the two migrations.`,
        halts: false,
      },
      message: `owned by MeshMigration ${owner}`,
    };
  }

  const sourceOptIns = input.workloads
    .map((w) => ({ w, rewrite: rewriteTemplateOptIns(source, target, w.template) }))
    .filter(({ rewrite }) => hasChanges(rewrite.changes));
  if (input.workloadOverrides === "Fail" && sourceOptIns.length > 0) {
    const names = sourceOptIns.map(({ w }) => workloadRef(w)).join(", ");
    return {
      ...base,
      phase: "Blocked",
      problem: {
        reason: "WorkloadOverridesFound",
        message:
          `Pod templates in namespace ${ns.name} pin themselves to ${describeMesh(source)}: ${names}. ` +
          "Remove those opt-ins, or set spec.strategy.workloadOverrides: Rewrite to let the operator rewrite them " +
          "(the originals are recorded on each workload).",
        halts: true,
      },
      message: `pod-template opt-ins to the source mesh: ${names}`,
    };
  }

  const recorded =
    owner === migration && decodeOriginal(ns.markers.annotations[ORIGINAL_ANNOTATION]) !== undefined;
  if (!recorded) {
    if (!input.mayStart) return { ...base, phase: "Pending", message: "waiting to start" };
    if (!input.targetControlPlane.ready) {
      return { ...base, phase: "Blocked", problem: cpProblem(), message: "target control plane not ready" };
    }
    const original = meshMarkersOf(ns.markers);
    return {
      ...base,
      phase: "Pending",
      message: "recording the namespace's original mesh markers",
      actions: [
        {
          type: "RecordOriginal",
          namespace: ns.name,
          resourceVersion: ns.resourceVersion,
          owner: migration,
          original,
          event: {
            type: "Normal",
            reason: "OriginalRecorded",
            message: `Namespace ${ns.name}: recorded its original mesh markers ${JSON.stringify(original)} before changing it`,
          },
        },
      ],
    };
  }

  // Drain first when the target would capture pods still carrying the source's sidecar; pods
  // nobody can restart hold the namespace there until someone recreates them.
  const drain = mustDrainBeforeEnrolling(source, target);
  const sourcePodsRemain = source.mesh !== "none" && managed.some((p) => podOnMesh(p, source));
  const strandedPods = drain ? unmanagedPodsOn(input.pods, source) : [];
  const stage = drain && (sourcePodsRemain || strandedPods.length > 0) ? NONE : target;
  // Once the namespace enrolls in the stage mesh, a second mesh's marker is someone else's edit:
  // report it and halt rather than remove what a user added.
  const enrolledIn = namespaceMeshes(ns.markers);
  const onStage = stage.mesh === "none" ? enrolledIn.length === 0 : namespaceOnMesh(ns.markers, stage);
  const strays = enrolledIn.filter((mesh) => mesh !== stage.mesh);
  if (onStage && strays.length > 0) {
    return {
      ...base,
      phase: "Failed",
      problem: {
        reason: "ConflictingMeshMarkers",
        message:
          `Namespace ${ns.name} is being moved to ${describeMesh(stage)} but now also carries the markers of ` +
          `${strays.join(", ")} (${JSON.stringify(meshMarkersOf(ns.markers))}), so new pods could join two meshes. ` +
          "The migration is halted; remove the stray marker to resume, or set spec.rollback: true.",
        halts: true,
      },
      message: `also enrolled in ${strays.join(", ")}`,
    };
  }
  const relabel = namespaceSwitch(source, stage, ns.markers);
  if (!isNoChange(relabel, ns.markers)) {
    if (!input.mayStart) return { ...base, phase: "Pending", message: "waiting to relabel" };
    if (!input.targetControlPlane.ready) {
      return { ...base, phase: "Blocked", problem: cpProblem(), message: "target control plane not ready" };
    }
    const after = applyChange(ns.markers, relabel);
    return {
      ...base,
      phase: "Relabelled",
      message:
        stage === target ? `moving to ${describeMesh(target)}` : `leaving ${describeMesh(source)} first`,
      actions: [
        {
          type: "Relabel",
          namespace: ns.name,
          resourceVersion: ns.resourceVersion,
          change: relabel,
          event: {
            type: "Normal",
            reason: "NamespaceRelabelled",
            message:
              `Namespace ${ns.name}: ${describeMesh(source)} markers removed, ` +
              (stage === target
                ? `${describeMesh(target)} markers added`
                : `${describeMesh(target)} waits until no ${describeMesh(source)} sidecar remains`) +
              ` (now ${JSON.stringify(meshMarkersOf(after))})`,
          },
        },
      ],
    };
  }

  // Restarts: at most maxConcurrentRollouts at once, each bounded by rolloutTimeout.
  const restarts = planRestarts({
    migration,
    namespace: ns.name,
    direction: "forward",
    leaving: source,
    stage,
    final: target,
    workloads: input.workloads,
    pods: managed,
    now,
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
  const { rolling, restarted, ready, timedOut, failedVerification, unverified, toStart } = restarts;
  const rolloutTimeoutText = `${Math.round(input.rolloutTimeoutMs / 1000)}s`;

  const workloads = { total: input.workloads.length, restarted, ready };
  if (timedOut.length > 0) {
    return {
      ...base,
      workloads,
      phase: "Failed",
      problem: {
        reason: "RolloutTimeout",
        message:
          `Namespace ${ns.name}: ${timedOut.join(", ")} did not finish rolling out within ${rolloutTimeoutText}. ` +
          "Check the workload's pods and events, fix the cause, then the migration resumes; " +
          "raise spec.strategy.rolloutTimeout if the workload is just slow, or set spec.rollback: true to undo.",
        halts: true,
      },
      message: `rollout timed out: ${timedOut.join(", ")}`,
    };
  }
  if (failedVerification.length > 0) {
    return {
      ...base,
      workloads,
      phase: "Failed",
      problem: {
        reason: "VerificationFailed",
        message: verificationFailedMessage(
          ns.name,
          source,
          stage,
          failedVerification,
          restarts.unmeshedAfterRestart,
          managed,
          base.pods.source,
        ),
        halts: true,
      },
      message: `pods not verified on ${describeMesh(stage)}`,
    };
  }

  if (toStart.length > 0 && !input.targetControlPlane.ready) {
    return {
      ...base,
      workloads,
      phase: "Blocked",
      problem: cpProblem(),
      message: "target control plane not ready",
    };
  }
  const actions = restarts.startNow;
  if (unverified.length === 0 && stage === target) {
    return {
      ...base,
      workloads,
      phase: "Migrated",
      message: migratedMessage(target, input.workloads.length, managed),
    };
  }
  if (unverified.length === 0 && strandedPods.length > 0) {
    return {
      ...base,
      workloads,
      phase: "Blocked",
      problem: strandedPodsProblem(ns.name, source, target, strandedPods),
      message: `waiting for ${strandedPods.length} pod(s) nobody can restart to leave ${describeMesh(source)}`,
    };
  }
  const phase = rolling > 0 || toStart.length > 0 ? "Restarting" : "Verifying";
  return {
    ...base,
    workloads,
    actions,
    phase,
    message:
      phase === "Restarting"
        ? `${rolling} rollout(s) in progress, ${toStart.length - actions.length} waiting` +
          (input.mayStart ? "" : " (paused: nothing new starts)")
        : `waiting for pods of ${unverified.join(", ")} to show ${describeMesh(stage)}`,
    recheckAfterMs: restarts.recheckAfterMs,
  };
}

/** Running pods of no workload (bare pods, Job pods) that are on this mesh. */
export function unmanagedPodsOn(pods: readonly PodObservation[], mesh: MeshRef): string[] {
  if (mesh.mesh === "none") return [];
  return pods
    .filter((p) => p.unmanaged && !p.terminating && p.phase !== "Succeeded" && p.phase !== "Failed")
    .filter((p) => podOnMesh(p, mesh))
    .map((p) => p.metadata.name)
    .sort();
}

/**
 * The namespace cannot join a mesh that takes running pods (ambient) while pods nobody can restart
 * still run the leaving mesh's proxy: they would be captured into two meshes at once.
 */
export function strandedPodsProblem(
  namespace: string,
  leaving: MeshRef,
  joining: MeshRef,
  pods: readonly string[],
): Problem {
  return {
    reason: "UnmanagedPodsOnSource",
    message:
      `Namespace ${namespace} waits to join ${describeMesh(joining)}: ${pods.length} pod(s) that no workload ` +
      `manages still run the ${describeMesh(leaving)} proxy (${pods.slice(0, 10).join(", ")}), and ` +
      `${describeMesh(joining)} would capture them into two meshes. Delete or recreate them (a Job's pod: let it ` +
      "finish or delete it); the namespace then joins by itself.",
    halts: false,
  };
}

/**
 * Says what verified, and never "verified" for a pod that runs on no mesh: workloads that opt out
 * of the target (or cannot be injected) are named with their unmeshed pods.
 */
function migratedMessage(target: MeshRef, workloadCount: number, managed: readonly PodObservation[]): string {
  const offMesh = target.mesh === "none" ? [] : managed.filter((p) => meshesOfPod(p).length === 0);
  if (offMesh.length === 0)
    return `every pod of ${workloadCount} workload(s) verified on ${describeMesh(target)}`;
  const owners = [...new Set(offMesh.map((p) => (p.owner ? workloadRef(p.owner) : p.metadata.name)))].sort();
  return (
    `${managed.length - offMesh.length} pod(s) verified on ${describeMesh(target)}; ${offMesh.length} pod(s) of ` +
    `${owners.join(", ")} run on no mesh (they opt out of ${describeMesh(target)} or cannot be injected)`
  );
}

function verificationFailedMessage(
  namespace: string,
  source: MeshRef,
  stage: MeshRef,
  failed: readonly string[],
  unmeshed: readonly string[],
  managed: readonly PodObservation[],
  sourcePods: number,
): string {
  // Only the pods of the named workloads: another workload may run unmeshed on purpose.
  const offMeshPods = managed.filter(
    (p) => p.owner !== undefined && unmeshed.includes(workloadRef(p.owner)) && meshesOfPod(p).length === 0,
  ).length;
  const offMesh =
    unmeshed.length > 0
      ? ` ${offMeshPods} pod(s) of ${unmeshed.join(", ")} now run on no mesh: the ${describeMesh(stage)} injector let ` +
        "them start without its proxy (a fail-open injector that is down or unreachable does this)."
      : "";
  const untouched =
    source.mesh === "none"
      ? ""
      : ` No other workload of the namespace is restarted while this holds; ${sourcePods} pod(s) stay on ${describeMesh(source)}.`;
  return (
    `Namespace ${namespace}: after ${MAX_RESTART_ATTEMPTS} restarts these workloads still have pods that are not on ` +
    `${describeMesh(stage)}: ${failed.join("; ")}.${offMesh}${untouched} Check that the injector answers ` +
    "(its webhook, certificate and process) and that the pods do not opt out, then restart the workload with " +
    "kubectl rollout restart and the migration resumes; or set spec.rollback: true to return the namespace and " +
    `its workloads to ${describeMesh(source)}.`
  );
}
