// What the walk means for the status: each namespace's and batch's phase, the counts, and the
// migration's phase.
import type { BatchStatus, NamespaceStatus } from "../../api/schema.ts";
import type { NamespacePlan, Problem } from "../namespace/types.ts";
import type { NamespacePlanners } from "./namespace-planners.ts";
import type { MigrationPhase, MigrationSpecView, ResolvedBatch, Walk } from "./types.ts";

export interface MigrationSummary {
  phase: MigrationPhase;
  namespaces: NamespaceStatus[];
  batches: BatchStatus[];
  /** Namespaces done (migrated, or rolled back during a rollback) and listed. */
  done: number;
  total: number;
  /** namespace/pod of every pod running two meshes' proxies. */
  doubleMeshed: string[];
  /** The problem the conditions report: what holds the batch, else a halting one, else any. */
  blockingProblem: Problem | undefined;
}

/** namespace/pod of every pod of the batches' namespaces that runs two meshes' proxies. */
export function doubleMeshedPods(batches: readonly ResolvedBatch[], walk: Walk): string[] {
  return batches
    .flatMap((b) => b.namespaces)
    .flatMap((ns) => (walk.plans.get(ns)?.doubleMeshedPods ?? []).map((pod) => `${ns}/${pod}`));
}

function namespaceStatus(ns: string, batch: string, plan: NamespacePlan | undefined): NamespaceStatus {
  if (!plan) {
    return {
      name: ns,
      batch,
      phase: "Blocked",
      workloads: { total: 0, restarted: 0, ready: 0 },
      pods: { target: 0, source: 0, unmeshed: 0, doubleMeshed: 0 },
      message: `namespace ${ns} does not exist`,
    };
  }
  return {
    name: ns,
    batch,
    phase: plan.phase,
    workloads: plan.workloads,
    pods: plan.pods,
    doubleMeshedPods: plan.doubleMeshedPods.length > 0 ? plan.doubleMeshedPods : undefined,
    unmanagedPods: plan.unmanagedPods.length > 0 ? plan.unmanagedPods : undefined,
    message: plan.problem ? plan.problem.message : plan.message,
  };
}

function batchPhase(
  batch: ResolvedBatch,
  migrated: number,
  walk: Walk,
  rollingBack: boolean,
): BatchStatus["phase"] {
  if (migrated === batch.namespaces.length && batch.missing.size === 0)
    return rollingBack ? "RolledBack" : "Migrated";
  if (rollingBack) return "RollingBack";
  if (batch.name !== walk.currentBatch) return "Pending";
  return walk.batchBlocked ? "Blocked" : "InProgress";
}

export function summarize(
  spec: MigrationSpecView,
  batches: readonly ResolvedBatch[],
  walk: Walk,
  planners: NamespacePlanners,
): MigrationSummary {
  const rollingBack = spec.rollback === true;
  const doneIn = rollingBack ? "RolledBack" : "Migrated";
  const namespaces: NamespaceStatus[] = [];
  const batchStatuses: BatchStatus[] = [];
  for (const batch of [...batches, ...walk.extraBatches]) {
    const statuses = batch.namespaces.map((ns) => namespaceStatus(ns, batch.name, walk.plans.get(ns)));
    const migrated = statuses.filter((s) => s.phase === doneIn).length;
    namespaces.push(...statuses);
    batchStatuses.push({
      name: batch.name,
      phase: batchPhase(batch, migrated, walk, rollingBack),
      namespaces: [...batch.namespaces],
      migrated,
    });
  }
  const done = batchStatuses.reduce((sum, b) => sum + b.migrated, 0);
  const total = namespaces.length;
  const doubleMeshed = doubleMeshedPods(batches, walk);
  const blockingProblem = walk.batchBlocked ?? walk.problems.find((p) => p.halts) ?? walk.problems[0];
  const halted = !spec.paused && (walk.problems.some((p) => p.halts) || doubleMeshed.length > 0);
  const allDone = walk.currentBatch === undefined && !walk.holding;
  const anyOwned = batches.some((b) => b.namespaces.some(planners.ownedByUs));

  // Paused with nothing left to do is still done: a pause never makes a finished migration unready.
  const settled = rollingBack ? done === total : allDone || walk.holding;
  let phase: MigrationPhase;
  if (spec.paused && !settled) phase = "Paused";
  else if (halted) phase = "Failed";
  else if (rollingBack) phase = done === total ? "RolledBack" : "RollingBack";
  else if (allDone) phase = "Succeeded";
  else if (walk.holding) phase = "Holding";
  else if (done === 0 && !anyOwned) phase = "Pending";
  else phase = "Progressing";
  return { phase, namespaces, batches: batchStatuses, done, total, doubleMeshed, blockingProblem };
}
