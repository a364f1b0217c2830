// Taking a namespace's waypoint away once its pods no longer need it, in the reverse of the order
// it was set up: first the istio.io/use-waypoint label (back to the value recorded before the
// migration, or removed), then the Gateway, each in its own write. Only what the operator made is
// removed: a Gateway without its owner annotation, or a label it did not set, stays as it is.
import type { Markers } from "../../meshes/driver.ts";
import { USE_WAYPOINT_LABEL } from "../../meshes/istio-ambient.ts";
import { removeMarkers, setMarker } from "../../meshes/markers.ts";
import { decodeOriginal, ORIGINAL_ANNOTATION, OWNER_ANNOTATION } from "../bookkeeping.ts";
import type { NamespacePhase, NamespacePlan, NamespacePlanInput } from "./types.ts";
import { type GatewayFacts, WAYPOINT_CLASS } from "./waypoint-gateway.ts";

type ReleaseInput = Pick<
  NamespacePlanInput,
  "migration" | "ns" | "waypoint" | "gateways" | "source" | "target" | "mayStart"
>;

interface Release {
  /** The Gateways that are the operator's to delete. */
  ours: GatewayFacts[];
  /** The use-waypoint value the operator may have set, and the value to put back (undefined: none). */
  label: { set: string[]; restore: string | undefined };
  phase: NamespacePhase;
  why: string;
}

/** After a rollback brought every pod back: undo this migration's waypoint. */
export function releaseAfterRollback(input: ReleaseInput, settled: NamespacePlan): NamespacePlan {
  if (settled.phase !== "RolledBack" || input.target.mesh !== "istio-ambient") return settled;
  if (input.ns.markers.annotations[OWNER_ANNOTATION] !== input.migration) return settled;
  const ours = ownGateways(input, (g) => g.createdBy === input.migration);
  const original = decodeOriginal(input.ns.markers.annotations[ORIGINAL_ANNOTATION]);
  const set = [...new Set([...(input.waypoint ? [input.waypoint.name] : []), ...ours.map((g) => g.name)])];
  return (
    release(input, settled, {
      ours,
      label: { set, restore: originalLabel(original) },
      phase: "RollingBack",
      why: "its pods are back on their sidecars",
    }) ?? settled
  );
}

/** After a move out of ambient verified: the waypoint an operator's migration made goes too. */
export function releaseAfterLeavingAmbient(input: ReleaseInput, settled: NamespacePlan): NamespacePlan {
  if (settled.phase !== "Migrated" || input.source.mesh !== "istio-ambient") return settled;
  // Made by a MeshMigration (this one or the one that moved the namespace into ambient).
  const ours = ownGateways(input, (g) => g.createdBy !== undefined);
  return (
    release(input, settled, {
      ours,
      label: { set: ours.map((g) => g.name), restore: undefined },
      phase: "Verifying",
      why: "no pod of it is in ambient any more",
    }) ?? settled
  );
}

function ownGateways(input: ReleaseInput, made: (g: GatewayFacts) => boolean): GatewayFacts[] {
  return (input.gateways ?? []).filter(
    (g) => g.gatewayClassName === WAYPOINT_CLASS && !g.terminating && made(g),
  );
}

function originalLabel(original: Markers | undefined): string | undefined {
  return original?.labels[USE_WAYPOINT_LABEL];
}

function release(input: ReleaseInput, settled: NamespacePlan, plan: Release): NamespacePlan | undefined {
  const { ns } = input;
  const current = ns.markers.labels[USE_WAYPOINT_LABEL];
  const labelIsOurs =
    current !== undefined && current !== plan.label.restore && plan.label.set.includes(current);
  if (!labelIsOurs && plan.ours.length === 0) return undefined;
  if (!input.mayStart) return { ...settled, phase: plan.phase, message: "waiting to remove its waypoint" };
  if (labelIsOurs) {
    const restore = plan.label.restore;
    return {
      ...settled,
      phase: plan.phase,
      message: `taking the namespace off waypoint ${current}: ${plan.why}`,
      actions: [
        {
          type: "UseWaypoint",
          namespace: ns.name,
          resourceVersion: ns.resourceVersion,
          change:
            restore === undefined
              ? removeMarkers({ labels: [USE_WAYPOINT_LABEL] }, ns.markers)
              : setMarker("label", USE_WAYPOINT_LABEL, restore),
          event: {
            type: "Normal",
            reason: "WaypointLabelRestored",
            message:
              `Namespace ${ns.name}: ${restore === undefined ? `removed ${USE_WAYPOINT_LABEL}` : `${USE_WAYPOINT_LABEL} back to ${restore}, as recorded`}` +
              ` (${plan.why})`,
          },
        },
      ],
    };
  }
  return {
    ...settled,
    phase: plan.phase,
    message: `removing the waypoint the operator made: ${plan.why}`,
    actions: plan.ours.map((gateway) => ({
      type: "DeleteWaypoint" as const,
      namespace: ns.name,
      name: gateway.name,
      uid: gateway.uid,
      resourceVersion: gateway.resourceVersion,
      event: {
        type: "Normal" as const,
        reason: "WaypointDeleted",
        message: `Namespace ${ns.name}: deleted waypoint ${gateway.name}, which MeshMigration ${gateway.createdBy} created (${plan.why})`,
      },
    })),
  };
}
