// The problems of the waypoint steps, each saying what to check and what to do.
import { USE_WAYPOINT_LABEL } from "../../meshes/istio-ambient.ts";
import type { Problem } from "./types.ts";
import { type GatewayFacts, WAYPOINT_CLASS } from "./waypoint-gateway.ts";

export function waypointMissingProblem(namespace: string, name: string): Problem {
  return {
    reason: "WaypointMissing",
    message:
      `Namespace ${namespace} has no waypoint ${name} (a Gateway of gatewayClassName ${WAYPOINT_CLASS}), which ` +
      "spec.target.waypoint names, so it does not join ambient: its L7 policies would go unenforced. Create it " +
      `(istioctl waypoint apply -n ${namespace} --name ${name}) or set spec.target.waypoint.create: true; the ` +
      "namespace then moves on by itself.",
    halts: false,
  };
}

export function notAWaypointProblem(gateway: GatewayFacts): Problem {
  return {
    reason: "WaypointWrongClass",
    message:
      `Namespace ${gateway.namespace}: Gateway ${gateway.name}, which spec.target.waypoint names, is of ` +
      `gatewayClassName ${gateway.gatewayClassName || "(none)"}, not ${WAYPOINT_CLASS}, so it is no waypoint. ` +
      "Name a waypoint in spec.target.waypoint.name, or give the namespace one of that name; the operator never " +
      "changes a Gateway it did not make.",
    halts: false,
  };
}

function programmedSaid(gateway: GatewayFacts): string {
  const condition = gateway.programmed;
  if (!condition) return "it has no Programmed condition yet";
  const detail = [condition.reason, condition.message].filter((part) => part !== "").join(": ");
  return `its Programmed condition is ${condition.status}${detail ? ` (${detail})` : ""}`;
}

export function waitingForWaypointMessage(gateway: GatewayFacts): string {
  return `waiting for waypoint ${gateway.name} to be Programmed before the namespace joins ambient: ${programmedSaid(gateway)}`;
}

export function waypointNotProgrammedProblem(gateway: GatewayFacts, timeoutMs: number): Problem {
  const { namespace, name } = gateway;
  return {
    reason: "WaypointNotProgrammed",
    message:
      `Namespace ${namespace}: waypoint ${name} was not Programmed within ${Math.round(timeoutMs / 1000)}s ` +
      `(${programmedSaid(gateway)}), so the namespace was not labelled ${USE_WAYPOINT_LABEL} and did not join ` +
      `ambient. Check the Gateway (kubectl describe gateway ${name} -n ${namespace}), its Deployment and pods ` +
      `(kubectl get pods -n ${namespace} -l gateway.networking.k8s.io/gateway-name=${name}) and that istiod runs ` +
      "with ambient enabled. The migration resumes once it is Programmed; raise spec.strategy.rolloutTimeout if it " +
      "is just slow, or set spec.rollback: true to undo.",
    halts: true,
  };
}
