// Undoing a move out of ambient: the namespace rejoins ambient with the waypoint its recorded
// original used, in the forward order (waypoint, Programmed, istio.io/use-waypoint, then the
// ambient label). Once its pods had left ambient the operator removed the waypoint it had made,
// so it is created again here when missing; left without it, the namespace's L7 policies would go
// unenforced in ambient. A waypoint in another namespace (istio.io/use-waypoint-namespace) is not
// this namespace's to create.
import type { Markers } from "../../meshes/driver.ts";
import { USE_WAYPOINT_LABEL } from "../../meshes/istio-ambient.ts";
import { namespaceOnMesh } from "../../meshes/registry.ts";
import { USE_WAYPOINT_NAMESPACE_LABEL } from "../../preflight/istio-waypoint-facts.ts";
import { OWNER_ANNOTATION } from "../bookkeeping.ts";
import type { NamespacePlan } from "./types.ts";
import { type WaypointStep, waypointBeforeJoining } from "./waypoint-forward.ts";

interface RejoinStep {
  input: WaypointStep["input"] & { source: WaypointStep["input"]["target"] };
  base: WaypointStep["base"];
  original: Markers | undefined;
}

export function waypointBeforeRejoining({ input, base, original }: RejoinStep): NamespacePlan | undefined {
  const { ns, source } = input;
  if (source.mesh !== "istio-ambient" || !original || !namespaceOnMesh(original, source)) return undefined;
  if (ns.markers.annotations[OWNER_ANNOTATION] !== input.migration) return undefined;
  const name = original.labels[USE_WAYPOINT_LABEL];
  if (!name || name === "none") return undefined;
  const elsewhere = ns.markers.labels[USE_WAYPOINT_NAMESPACE_LABEL];
  if (elsewhere && elsewhere !== ns.name) return undefined;
  return waypointBeforeJoining({
    input: { ...input, target: source, waypoint: { name, create: true } },
    base,
  });
}
