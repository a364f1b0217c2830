// How the whole plan (spec.dryRun, the plan CLI) shows the waypoint actions: each as one step of
// the namespace, in the order the planner makes them.
import type { PlannedNamespaceChange } from "../../api/schema.ts";
import type { Action } from "../actions.ts";
import { OWNER_ANNOTATION } from "../bookkeeping.ts";
import { WAYPOINT_CLASS, WAYPOINT_FOR_LABEL } from "./waypoint-gateway.ts";

/** A kubectl-style edit list: "key-" removes, "key=value" sets. */
function labelEdits(set: Record<string, string>, remove: readonly string[]): string[] {
  return [...remove.map((key) => `${key}-`), ...Object.entries(set).map(([key, value]) => `${key}=${value}`)];
}

/** The plan's step for a waypoint action, or undefined for any other action. */
export function waypointStep(action: Action): PlannedNamespaceChange | undefined {
  switch (action.type) {
    case "CreateWaypoint":
      return {
        step:
          `create waypoint ${action.name} (Gateway of gatewayClassName ${WAYPOINT_CLASS}, ${WAYPOINT_FOR_LABEL}=service, ` +
          `listener mesh 15008/HBONE, ${OWNER_ANNOTATION}=${action.owner}) and wait until it is Programmed`,
        labels: [],
        annotations: [],
      };
    case "UseWaypoint": {
      const setting = action.event.reason === "WaypointLabelled";
      return {
        step: setting
          ? "point the namespace at its waypoint, in a patch of its own before it joins ambient"
          : "once its pods have left ambient, take the namespace off the waypoint (back to its recorded label)",
        labels: labelEdits(action.change.set.labels, action.change.remove.labels),
        annotations: [],
      };
    }
    case "DeleteWaypoint":
      return {
        step: `then delete waypoint ${action.name}, which the operator created`,
        labels: [],
        annotations: [],
      };
    default:
      return undefined;
  }
}
