// The workload level of the tree: where each Deployment, StatefulSet and DaemonSet of a namespace
// stands in this migration, read from the workload and its pods with the operator's own facts
// (restart stamps, pod membership), because status.namespaces only counts workloads.
import type * as k8s from "@kubernetes/client-node";
import { decodeStamp, RESTART_STAMP_ANNOTATION, type RestartStamp } from "../../controller/bookkeeping.ts";
import type { PodObservation, WorkloadFacts } from "../../controller/facts.ts";
import { observeNamespacePods } from "../../controller/namespace/observe.ts";
import type { PodCounts } from "../../controller/namespace/types.ts";
import {
  daemonSetFacts,
  deploymentFacts,
  podObservation,
  statefulSetFacts,
} from "../../controller/observe.ts";
import { workloadRef } from "../../controller/restarts.ts";
import { podOnMesh, withComparableRevisions } from "../../meshes/registry.ts";
import { directionOf, type MigrationView, type SpecView } from "./migration-view.ts";

/** The objects of one namespace the workload level is read from (the apiserver's JSON). */
export interface NamespaceObjects {
  deployments: readonly k8s.V1Deployment[];
  statefulSets: readonly k8s.V1StatefulSet[];
  daemonSets: readonly k8s.V1DaemonSet[];
  pods: readonly k8s.V1Pod[];
}

export type WorkloadPhase =
  | "Waiting"
  | "Restarting"
  | "Verifying"
  | "Migrated"
  | "RolledBack"
  | "Failed"
  | "DoubleMeshed"
  | "ScaledToZero";

/** What a workload's phase is read against: the migration, and how its namespace stands. */
export interface WorkloadContext {
  migration: string;
  spec: SpecView;
  /** The namespace failed (verification, a rollout timeout): a workload still off its mesh failed too. */
  namespaceFailed: boolean;
}

export interface WorkloadRow {
  /** kind/name, as the operator names workloads in its messages. */
  ref: string;
  phase: WorkloadPhase;
  pods: PodCounts;
  readyPods: number;
  desiredPods: number;
  /** The restart attempt of this step, when it is a retry (2 or 3). */
  retry: number | undefined;
}

/** The pods created for a workload that are still running (or starting). */
function livePodsOf(workload: WorkloadFacts, pods: readonly PodObservation[]): PodObservation[] {
  return pods.filter(
    (pod) =>
      pod.owner?.kind === workload.kind &&
      pod.owner.name === workload.name &&
      !pod.terminating &&
      pod.phase !== "Succeeded" &&
      pod.phase !== "Failed",
  );
}

/** The restart stamp on the workload's template, when it is this migration's, in this direction. */
function stampOfThisStep(
  workload: WorkloadFacts,
  migration: string,
  spec: SpecView,
): RestartStamp | undefined {
  const stamp = decodeStamp(workload.template.annotations[RESTART_STAMP_ANNOTATION]);
  return stamp?.migration === migration && stamp.direction === directionOf(spec) ? stamp : undefined;
}

function workloadPhase(
  workload: WorkloadFacts,
  live: readonly PodObservation[],
  counts: PodCounts,
  restartedForThisStep: boolean,
  context: WorkloadContext,
): WorkloadPhase {
  const { spec } = context;
  const direction = directionOf(spec);
  const goal = direction === "forward" ? spec.target : spec.source;
  if (counts.doubleMeshed > 0) return "DoubleMeshed";
  if (workload.desiredPods === 0) return "ScaledToZero";
  const onGoal = live.length > 0 && live.every((pod) => podOnMesh(pod, goal));
  if (onGoal && workload.rolledOut) return direction === "forward" ? "Migrated" : "RolledBack";
  if (!restartedForThisStep) return "Waiting";
  if (!workload.rolledOut) return "Restarting";
  // Rolled out with pods off the goal mesh: still verifying, unless the namespace gave up on it.
  return context.namespaceFailed ? "Failed" : "Verifying";
}

/** One row per workload of the namespace, Deployments first, then StatefulSets, then DaemonSets. */
export function workloadRows(objects: NamespaceObjects, context: WorkloadContext): WorkloadRow[] {
  const { migration, spec } = context;
  const { source, target } = withComparableRevisions({ source: spec.source, target: spec.target });
  const comparable = { ...context, spec: { ...spec, source, target } };
  const pods = objects.pods.map(podObservation);
  const byName = (a: WorkloadFacts, b: WorkloadFacts) => a.name.localeCompare(b.name);
  const workloads = [
    ...objects.deployments.map(deploymentFacts).sort(byName),
    ...objects.statefulSets.map(statefulSetFacts).sort(byName),
    ...objects.daemonSets.map(daemonSetFacts).sort(byName),
  ];
  return workloads.map((workload) => {
    const live = livePodsOf(workload, pods);
    const counts = observeNamespacePods(live, 1, source, target).base.pods;
    const stamp = stampOfThisStep(workload, migration, spec);
    return {
      ref: workloadRef(workload),
      phase: workloadPhase(workload, live, counts, stamp !== undefined, comparable),
      pods: counts,
      readyPods: workload.readyPods,
      desiredPods: workload.desiredPods,
      retry: stamp && stamp.attempt > 1 ? stamp.attempt : undefined,
    };
  });
}

/**
 * The workload level of the given namespaces: rows where their objects are known, the reason where
 * they could not be read, nothing where they are not known yet (a watch still listing).
 */
export function workloadsByNamespace(
  view: MigrationView,
  namespaces: readonly string[],
  objectsOf: (namespace: string) => NamespaceObjects | string | undefined,
): Map<string, WorkloadRow[] | string> {
  const rows = new Map<string, WorkloadRow[] | string>();
  for (const namespace of namespaces) {
    const objects = objectsOf(namespace);
    if (objects === undefined) continue;
    const phase = view.status?.namespaces?.find((ns) => ns.name === namespace)?.phase;
    const context = { migration: view.name, spec: view.spec, namespaceFailed: phase === "Failed" };
    rows.set(namespace, typeof objects === "string" ? objects : workloadRows(objects, context));
  }
  return rows;
}
