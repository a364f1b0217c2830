// What a namespace planner reads and returns.
import type { NamespacePhase } from "../../api/schema.ts";
import type { MeshRef } from "../../meshes/driver.ts";
import type { Action } from "../actions.ts";
import type { ControlPlaneFacts, NamespaceFacts, PodObservation, WorkloadFacts } from "../facts.ts";
import type { GatewayFacts, WaypointSpecView } from "./waypoint-gateway.ts";

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
  /** spec.target.waypoint (istio-ambient targets): set up before the namespace joins ambient. */
  waypoint?: WaypointSpecView | undefined;
  /** The namespace's Gateways, which the waypoint steps read. */
  gateways?: GatewayFacts[] | undefined;
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
