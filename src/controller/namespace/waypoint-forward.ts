// The waypoint steps of a move into Istio ambient, in the order Istio's sidecar-to-ambient guide
// gives: the waypoint exists (created by the operator when spec.target.waypoint.create is true),
// then it is Programmed, then the namespace is labelled istio.io/use-waypoint in a write of its
// own, and only then does the relabel step add the ambient label. Once the namespace is in
// ambient these steps are silent, so a migrated namespace never goes back to waiting.

import { USE_WAYPOINT_LABEL } from "../../meshes/istio-ambient.ts";
import { setMarker } from "../../meshes/markers.ts";
import { namespaceOnMesh } from "../../meshes/registry.ts";
import type { ForwardStep } from "./forward-step.ts";
import type { NamespacePlan, NamespacePlanInput } from "./types.ts";
import {
  type GatewayFacts,
  isProgrammed,
  WAYPOINT_CLASS,
  type WaypointSpecView,
} from "./waypoint-gateway.ts";
import {
  notAWaypointProblem,
  waitingForWaypointMessage,
  waypointMissingProblem,
  waypointNotProgrammedProblem,
} from "./waypoint-messages.ts";

/** What the waypoint steps read: a forward step's, or a rollback's on its way back into ambient. */
export interface WaypointStep {
  input: Pick<
    NamespacePlanInput,
    "migration" | "ns" | "target" | "waypoint" | "gateways" | "mayStart" | "now" | "rolloutTimeoutMs"
  >;
  base: ForwardStep["base"];
}

export function waypointBeforeJoining(step: WaypointStep): NamespacePlan | undefined {
  const { input } = step;
  const spec = input.waypoint;
  if (!spec || input.target.mesh !== "istio-ambient") return undefined;
  if (namespaceOnMesh(input.ns.markers, input.target)) return undefined;
  const gateway = input.gateways?.find((g) => g.name === spec.name);
  if (!gateway) return createWaypoint(step, spec);
  return notAWaypoint(step, gateway) ?? waitForProgrammed(step, gateway) ?? useWaypoint(step, spec);
}

function createWaypoint({ input, base }: WaypointStep, spec: WaypointSpecView): NamespacePlan {
  const { ns } = input;
  if (!spec.create) {
    return {
      ...base,
      phase: "Blocked",
      problem: waypointMissingProblem(ns.name, spec.name),
      message: `no waypoint ${spec.name}`,
    };
  }
  if (!input.mayStart) return { ...base, phase: "Pending", message: "waiting to create the waypoint" };
  return {
    ...base,
    phase: "Pending",
    message: `creating waypoint ${spec.name}`,
    actions: [
      {
        type: "CreateWaypoint",
        namespace: ns.name,
        name: spec.name,
        owner: input.migration,
        event: {
          type: "Normal",
          reason: "WaypointCreated",
          message:
            `Namespace ${ns.name}: created waypoint ${spec.name} (Gateway of gatewayClassName ${WAYPOINT_CLASS}, ` +
            "marked as this migration's, so only it is ever removed) before the namespace joins ambient",
        },
      },
    ],
  };
}

function notAWaypoint({ base }: WaypointStep, gateway: GatewayFacts): NamespacePlan | undefined {
  if (gateway.gatewayClassName === WAYPOINT_CLASS) return undefined;
  return {
    ...base,
    phase: "Blocked",
    problem: notAWaypointProblem(gateway),
    message: `Gateway ${gateway.name} is not a waypoint`,
  };
}

/** Until Programmed the namespace waits, for at most rolloutTimeout from the Gateway's creation. */
function waitForProgrammed({ input, base }: WaypointStep, gateway: GatewayFacts): NamespacePlan | undefined {
  if (isProgrammed(gateway)) return undefined;
  const deadline = (gateway.createdAt ?? input.now) + input.rolloutTimeoutMs;
  if (input.now >= deadline) {
    return {
      ...base,
      phase: "Failed",
      problem: waypointNotProgrammedProblem(gateway, input.rolloutTimeoutMs),
      message: `waypoint ${gateway.name} not Programmed`,
    };
  }
  return {
    ...base,
    phase: "Pending",
    message: waitingForWaypointMessage(gateway),
    recheckAfterMs: deadline - input.now,
  };
}

/** The use-waypoint label, alone in its patch, so it is visibly in place before the ambient label. */
function useWaypoint({ input, base }: WaypointStep, spec: WaypointSpecView): NamespacePlan | undefined {
  const { ns } = input;
  if (ns.markers.labels[USE_WAYPOINT_LABEL] === spec.name) return undefined;
  if (!input.mayStart)
    return { ...base, phase: "Pending", message: "waiting to point the namespace at its waypoint" };
  return {
    ...base,
    phase: "Pending",
    message: `pointing the namespace at waypoint ${spec.name}`,
    actions: [
      {
        type: "UseWaypoint",
        namespace: ns.name,
        resourceVersion: ns.resourceVersion,
        change: setMarker("label", USE_WAYPOINT_LABEL, spec.name),
        event: {
          type: "Normal",
          reason: "WaypointLabelled",
          message:
            `Namespace ${ns.name}: labelled ${USE_WAYPOINT_LABEL}=${spec.name} (waypoint Programmed) before it ` +
            "joins ambient",
        },
      },
    ],
  };
}
