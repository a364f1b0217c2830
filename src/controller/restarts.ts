// Restarting a namespace's workloads so their pods are re-created into the mesh
// the namespace now enrolls, at most maxConcurrentRollouts at once, each bounded
// by rolloutTimeout, and verifying the result from the pods. Shared by the
// forward and the rollback direction.
import type { MarkerChange, Markers, MeshRef } from "../meshes/driver.ts";
import { applyChange, noChange } from "../meshes/markers.ts";
import { driverFor, isDoubleMeshed, podOnMesh, templateOptsOutOf } from "../meshes/registry.ts";
import type { RestartWorkloadAction } from "./actions.ts";
import { type Direction, decodeStamp, encodeStamp, RESTART_STAMP_ANNOTATION } from "./bookkeeping.ts";
import type { PodObservation, WorkloadFacts } from "./facts.ts";

/** A rollout that verified wrong is retried this many times before the namespace fails. */
export const MAX_RESTART_ATTEMPTS = 3;

/**
 * How long after the previous attempt started a retry may start (index: the attempt). A
 * fail-open injector that is briefly away gets time to come back instead of three restarts in
 * as many seconds.
 */
export const RETRY_BACKOFF_MS: readonly number[] = [0, 0, 15_000, 45_000];

export function retryBackoffMs(attempt: number): number {
  return RETRY_BACKOFF_MS[Math.min(attempt, RETRY_BACKOFF_MS.length - 1)] ?? 0;
}

/**
 * Whether restarts into this mesh must prove the injector on one workload first: while the
 * injector has not yet proved itself in this namespace, one workload goes alone and its pods are
 * verified before any other restarts (a fail-open injector that is down then costs one workload,
 * not the namespace); then at most maxConcurrentRollouts at once.
 */
function needsCanaryRestart(stage: MeshRef): boolean {
  return stage.mesh !== "none" && driverFor(stage.mesh).joinRequiresRestart;
}

const NONE: MeshRef = { mesh: "none" };

export function describeMesh(ref: MeshRef): string {
  return ref.revision ? `${ref.mesh} (revision ${ref.revision})` : ref.mesh;
}

export function workloadRef(w: { kind: string; name: string }): string {
  return `${w.kind.toLowerCase()}/${w.name}`;
}

/** Whether the pod was created from the workload's current template (it carries its restart stamp). */
function createdByRestart(pod: PodObservation, workload: WorkloadFacts): boolean {
  return (
    pod.metadata.annotations?.[RESTART_STAMP_ANNOTATION] ===
    workload.template.annotations[RESTART_STAMP_ANNOTATION]
  );
}

/** Whether pods of this template are expected on `mesh` (not opted out, injectable). */
export function expectsMesh(mesh: MeshRef, template: Markers, hostNetwork: boolean): boolean {
  if (mesh.mesh === "none") return true;
  if (hostNetwork) return false;
  return !templateOptsOutOf(template, mesh.mesh);
}

export interface TemplateChange {
  change: MarkerChange;
  /** JSON to write on the workload as the record of the template's original keys. */
  recordOriginal?: string | undefined;
  /** Remove the record (the rollback restored the template). */
  dropRecord?: boolean | undefined;
}

export interface RestartPlanInput {
  migration: string;
  namespace: string;
  direction: Direction;
  /** The mesh pods are leaving. */
  leaving: MeshRef;
  /** The mesh the namespace enrolls now (none while draining before an ambient enrollment). */
  stage: MeshRef;
  /** Where pods end up once every stage is done. */
  /**
   * Where pods end up once every stage is done; undefined when that is wherever the namespace's
   * restored original markers put them (a rollback of a namespace that never was on the source):
   * pods then only have to leave the mesh they are leaving.
   */
  final: MeshRef | undefined;
  workloads: readonly WorkloadFacts[];
  /** Pods managed by the namespace's workloads. */
  pods: readonly PodObservation[];
  now: number;
  rolloutTimeoutMs: number;
  maxConcurrentRollouts: number;
  /** False while paused or halted: no restart starts; rollouts already running settle. */
  mayStart: boolean;
  /** The pod-template change to apply with the restart, if any. */
  templateChangeFor: (w: WorkloadFacts) => TemplateChange | undefined;
}

export interface RestartPlan {
  /** Every restart that is due, whether or not it may start now. */
  toStart: RestartWorkloadAction[];
  /**
   * The ones that start now: within maxConcurrentRollouts, one alone until a restart has verified
   * on the stage mesh, retries only after their backoff, and only when starting is allowed.
   */
  startNow: RestartWorkloadAction[];
  /** Workloads whose pods are running and on no mesh although the stage mesh was expected to inject them. */
  unmeshedAfterRestart: string[];
  rolling: number;
  restarted: number;
  ready: number;
  timedOut: string[];
  failedVerification: string[];
  unverified: string[];
  deadline: number | undefined;
  /** When to look again without events: just after the earliest rollout deadline. */
  recheckAfterMs: number | undefined;
}

export function planRestarts(input: RestartPlanInput): RestartPlan {
  const { migration, leaving, stage, final, now } = input;
  const leavingDriver = leaving.mesh === "none" ? undefined : driverFor(leaving.mesh);
  const stageDriver = stage.mesh === "none" ? undefined : driverFor(stage.mesh);
  const plan: RestartPlan = {
    toStart: [],
    startNow: [],
    rolling: 0,
    restarted: 0,
    ready: 0,
    timedOut: [],
    failedVerification: [],
    unverified: [],
    unmeshedAfterRestart: [],
    deadline: undefined,
    recheckAfterMs: undefined,
  };
  const canary = needsCanaryRestart(stage);
  // A workload restarted for this step whose pods all verified on the stage mesh proves the injector.
  let injectorProven = !canary;
  const notBefore = new Map<RestartWorkloadAction, number>();
  /** Actions whose pods the final mesh is expected to take (they are the ones that prove it). */
  const provesStage = new Set<RestartWorkloadAction>();

  // Each workload's pods, found once by owner rather than by a scan of every pod per workload.
  const podsByOwner = new Map<string, PodObservation[]>();
  for (const p of input.pods) {
    if (!p.owner) continue;
    const key = workloadRef(p.owner);
    const own = podsByOwner.get(key);
    if (own) own.push(p);
    else podsByOwner.set(key, [p]);
  }
  for (const w of [...input.workloads].sort((a, b) => workloadRef(a).localeCompare(workloadRef(b)))) {
    const podsOf = podsByOwner.get(workloadRef(w)) ?? [];
    const templateChange = input.templateChangeFor(w);
    const templateAfter = templateChange ? applyChange(w.template, templateChange.change) : w.template;
    const onFinal = final !== undefined && expectsMesh(final, templateAfter, w.templateHostNetwork);
    const needsRestart = (p: PodObservation) =>
      (leavingDriver?.leaveRequiresRestart === true && podOnMesh(p, leaving)) ||
      (onFinal && stageDriver?.joinRequiresRestart === true && !podOnMesh(p, stage)) ||
      (stage.mesh === "none" && final?.mesh === "none" && !podOnMesh(p, NONE));
    const stamp = decodeStamp(w.template.annotations[RESTART_STAMP_ANNOTATION]);
    const stampedNow = stamp?.migration === migration && stamp.direction === input.direction;
    const podsRight = podsOf.every(
      (p) =>
        !p.terminating &&
        !isDoubleMeshed(p) &&
        !(leaving.mesh !== "none" && podOnMesh(p, leaving)) &&
        (!onFinal || podOnMesh(p, stage)),
    );

    if (stampedNow) plan.restarted++;
    if (stampedNow && !w.rolledOut) {
      plan.rolling++;
      const due = stamp.startedAt + input.rolloutTimeoutMs;
      if (now > due) plan.timedOut.push(workloadRef(w));
      else plan.deadline = Math.min(plan.deadline ?? due, due);
      plan.unverified.push(workloadRef(w));
      continue;
    }
    const wrongPods = podsOf.filter((p) => !p.terminating && needsRestart(p));
    if (w.rolledOut && podsRight && !templateChange) {
      plan.ready++;
      if (stampedNow && onFinal && podsOf.length > 0) injectorProven = true;
      continue;
    }
    plan.unverified.push(workloadRef(w));
    if (!w.rolledOut || (wrongPods.length === 0 && !templateChange)) continue; // settling: wait for it
    if (stampedNow && !templateChange && wrongPods.every((p) => !createdByRestart(p, w))) {
      // Rolled out, yet the only wrong pods are from before the restart: the pod cache lags the
      // workload's status (a watch resuming after an outage), or they are on their way out. A
      // retry is for pods the restart made that came up wrong, never for these: wait, bounded,
      // and count it as rolling so nothing else starts before its pods are seen.
      plan.rolling++;
      const due = stamp.startedAt + input.rolloutTimeoutMs;
      if (now > due) plan.timedOut.push(workloadRef(w));
      else plan.deadline = Math.min(plan.deadline ?? due, due);
      continue;
    }
    const attempt = stampedNow ? stamp.attempt + 1 : 1;
    if (
      stampedNow &&
      onFinal &&
      stage.mesh !== "none" &&
      wrongPods.some((p) => !isDoubleMeshed(p) && podOnMesh(p, NONE))
    ) {
      plan.unmeshedAfterRestart.push(workloadRef(w));
    }
    if (attempt > MAX_RESTART_ATTEMPTS) {
      plan.failedVerification.push(
        `${workloadRef(w)} (pods ${wrongPods.map((p) => p.metadata.name).join(", ")} are not on ${describeMesh(stage)})`,
      );
      continue;
    }
    const change = templateChange?.change ?? noChange();
    const action: RestartWorkloadAction = {
      type: "RestartWorkload",
      kind: w.kind,
      namespace: input.namespace,
      name: w.name,
      resourceVersion: w.resourceVersion,
      stamp: encodeStamp({ migration, direction: input.direction, attempt, startedAt: now }),
      stage,
      templateChange: change,
      templateOriginal: templateChange?.recordOriginal,
      dropTemplateOriginal: templateChange?.dropRecord === true,
      event: {
        type: attempt > 1 ? "Warning" : "Normal",
        reason: attempt > 1 ? "WorkloadRestartRetried" : "WorkloadRestarted",
        message:
          `Namespace ${input.namespace}: restarting ${workloadRef(w)} so its pods are re-injected by ${describeMesh(stage)}` +
          (input.direction === "rollback" ? " (rollback)" : "") +
          (templateChange
            ? `; ${input.direction === "rollback" ? "restored" : "rewrote"} pod-template opt-ins ${JSON.stringify(change)}`
            : "") +
          (attempt > 1 ? ` (attempt ${attempt} of ${MAX_RESTART_ATTEMPTS}: its pods did not verify)` : ""),
      },
    };
    plan.toStart.push(action);
    if (stampedNow) notBefore.set(action, stamp.startedAt + retryBackoffMs(attempt));
    if (onFinal) provesStage.add(action);
  }
  // Retries go first (until it verifies, the canary stays the canary), then workloads whose pods
  // are expected on the stage mesh: they are the ones that prove it.
  const rank = (action: RestartWorkloadAction) =>
    notBefore.has(action) ? 0 : provesStage.has(action) ? 1 : 2;
  plan.toStart.sort((a, b) => rank(a) - rank(b));
  const room = input.mayStart ? Math.max(0, input.maxConcurrentRollouts - plan.rolling) : 0;
  const candidates = injectorProven ? plan.toStart : plan.rolling === 0 ? plan.toStart.slice(0, 1) : [];
  plan.startNow = candidates.filter((action) => (notBefore.get(action) ?? 0) <= now).slice(0, room);
  const retryAt = [...notBefore.values()].filter((at) => at > now);
  const nextLook = Math.min(plan.deadline ?? Number.POSITIVE_INFINITY, ...retryAt);
  if (Number.isFinite(nextLook)) plan.recheckAfterMs = Math.max(1000, nextLook - now + 500);
  return plan;
}
