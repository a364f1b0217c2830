// The whole plan of one namespace, projected with the reconciler's own planner: run the
// namespace planner, let each action it asks for take effect on a model of the namespace (the
// patch applied, a restarted workload's pods back as its verification expects them), and plan
// again, until nothing more is due. Each round is what one reconcile starts. No rule of the
// runbook lives here: the planner decides every step, this only plays the cluster's part.
import type { MeshRef } from "../meshes/driver.ts";
import { applyChange } from "../meshes/markers.ts";
import {
  driverFor,
  findTemplateOptIns,
  MESH_DRIVERS,
  meshesOfPod,
  namespaceOnMesh,
  podOnMesh,
} from "../meshes/registry.ts";
import { type Action, type RestartWorkloadAction, recordOriginalChange, restartChanges } from "./actions.ts";
import type { NamespaceFacts, PodObservation, WorkloadFacts } from "./facts.ts";
import type { NamespacePlan } from "./namespace/types.ts";
import { type GatewayFacts, projectWaypointAction } from "./namespace/waypoint-gateway.ts";
import { expectsMesh } from "./restarts.ts";

/** One namespace as the planner sees it. */
export interface NamespaceState {
  ns: NamespaceFacts;
  workloads: WorkloadFacts[];
  pods: PodObservation[];
  gateways?: GatewayFacts[] | undefined;
}

export interface ProjectedNamespace {
  /** The actions of each reconcile that changes something, in order. */
  rounds: Action[][];
  /** The plan once nothing more is due: done, or held by the problem it names. */
  final: NamespacePlan;
  /** The namespace as it would be then. */
  state: NamespaceState;
}

/** Far more rounds than any namespace needs (record, two relabels, one per workload); a guard only. */
const ROUND_LIMIT_PER_WORKLOAD = 2;
const ROUND_LIMIT_BASE = 8;

export function projectNamespace(
  start: NamespaceState,
  planRound: (state: NamespaceState) => NamespacePlan,
): ProjectedNamespace {
  const limit = ROUND_LIMIT_BASE + ROUND_LIMIT_PER_WORKLOAD * start.workloads.length;
  const rounds: Action[][] = [];
  let state = settleCapture(copyState(start));
  let plan = planRound(state);
  while (plan.actions.length > 0 && rounds.length < limit) {
    rounds.push(plan.actions);
    state = settleCapture(plan.actions.reduce(applyAction, state));
    plan = planRound(state);
  }
  return { rounds, final: plan, state };
}

function copyState(state: NamespaceState): NamespaceState {
  return {
    ns: structuredClone(state.ns),
    workloads: structuredClone(state.workloads),
    pods: structuredClone(state.pods),
    gateways: structuredClone(state.gateways),
  };
}

/** The namespace after one action was accepted by the apiserver and acted on by the cluster. */
function applyAction(state: NamespaceState, action: Action): NamespaceState {
  switch (action.type) {
    case "RecordOriginal":
      return {
        ...state,
        ns: { ...state.ns, markers: applyChange(state.ns.markers, recordOriginalChange(action)) },
      };
    case "Relabel":
      return { ...state, ns: { ...state.ns, markers: applyChange(state.ns.markers, action.change) } };
    case "RestartWorkload":
      return restartWorkload(state, action);
    case "UseWaypoint":
      return { ...state, ns: { ...state.ns, markers: applyChange(state.ns.markers, action.change) } };
    case "CreateWaypoint":
    case "DeleteWaypoint":
      return { ...state, gateways: projectWaypointAction(state.gateways ?? [], action) };
  }
}

/** The rollout done: the new template in place and every pod replaced by one the stage mesh took. */
function restartWorkload(state: NamespaceState, action: RestartWorkloadAction): NamespaceState {
  const workloads = state.workloads.map((w) => {
    if (w.kind !== action.kind || w.name !== action.name) return w;
    const changes = restartChanges(action);
    const template = applyChange(w.template, changes.template);
    const { annotations } = applyChange({ labels: {}, annotations: w.annotations }, changes.workload);
    return { ...w, template, annotations, rolledOut: true, readyPods: w.desiredPods };
  });
  const workload = workloads.find((w) => w.kind === action.kind && w.name === action.name);
  if (!workload) return state;
  const owned = (p: PodObservation) => p.owner?.kind === action.kind && p.owner.name === action.name;
  const replaced = state.pods.filter((p) => owned(p) && !p.terminating);
  const takes = expectsMesh(action.stage, workload.template, workload.templateHostNetwork);
  const fresh = replaced.map((old, index) => {
    const pod = freshPod(old, `${action.name}-projected-${index}`);
    return takes && driverFor(action.stage.mesh).joinRequiresRestart ? withMarks(pod, action.stage) : pod;
  });
  return { ...state, workloads, pods: [...state.pods.filter((p) => !owned(p)), ...fresh] };
}

/** A pod of the same workload with none of the old pod's mesh marks. */
function freshPod(old: PodObservation, name: string): PodObservation {
  return {
    metadata: { name, namespace: old.metadata.namespace, labels: { ...old.metadata.labels } },
    spec: { containers: [{ name: "app" }], hostNetwork: old.spec?.hostNetwork === true },
    owner: old.owner,
    unmanaged: false,
    terminating: false,
    phase: "Running",
  };
}

function withMarks(pod: PodObservation, ref: MeshRef): PodObservation {
  const marks = driverFor(ref.mesh).memberMarks(ref);
  return {
    ...pod,
    metadata: { ...pod.metadata, annotations: { ...pod.metadata.annotations, ...marks.annotations } },
    spec: {
      ...pod.spec,
      containers: [...(pod.spec?.containers ?? []), ...marks.containers.map((name) => ({ name }))],
    },
  };
}

function withoutMarks(pod: PodObservation, ref: MeshRef): PodObservation {
  const marks = driverFor(ref.mesh).memberMarks(ref);
  const annotations = { ...pod.metadata.annotations };
  for (const key of Object.keys(marks.annotations)) delete annotations[key];
  return { ...pod, metadata: { ...pod.metadata, annotations } };
}

/**
 * Meshes that take running pods without a restart (ambient) follow the namespace and the pod
 * template: a pod they are expected to take has their marks, any other pod has none of them.
 */
function settleCapture(state: NamespaceState): NamespaceState {
  const capturing = Object.values(MESH_DRIVERS).filter(
    (driver) => driver.name !== "none" && !driver.joinRequiresRestart,
  );
  let pods = state.pods;
  for (const driver of capturing) {
    const ref: MeshRef = { mesh: driver.name };
    pods = pods.map((pod) => {
      const workload = state.workloads.find((w) => w.kind === pod.owner?.kind && w.name === pod.owner.name);
      if (!workload || pod.terminating) return pod;
      const optedIn = findTemplateOptIns(workload.template).some((o) => o.mesh === driver.name && o.optsIn);
      const enrolled = namespaceOnMesh(state.ns.markers, ref) || optedIn;
      const skipped = meshesOfPod(pod).some((mesh) => (driver.skipsPodsMeshedBy ?? []).includes(mesh));
      const takes = enrolled && !skipped && expectsMesh(ref, workload.template, workload.templateHostNetwork);
      if (takes === podOnMesh(pod, ref)) return pod;
      return takes ? withMarks(pod, ref) : withoutMarks(pod, ref);
    });
  }
  return { ...state, pods };
}
