// The waypoint Gateway of a namespace: what the operator reads of one (from the Gateway cache),
// and the one it creates for spec.target.waypoint.create, shaped as `istioctl waypoint generate`
// makes it. A Gateway the operator made carries its owner on it, so rollback, deletion and a later
// move out of ambient remove only those, never a user's.
import type { CreateWaypointAction, DeleteWaypointAction } from "../actions.ts";
import { OWNER_ANNOTATION, OWNER_LABEL } from "../bookkeeping.ts";

export const GATEWAY_API = { group: "gateway.networking.k8s.io", version: "v1", plural: "gateways" } as const;
export const WAYPOINT_CLASS = "istio-waypoint";
/** Which traffic the waypoint handles; `service` is istioctl's default. */
export const WAYPOINT_FOR_LABEL = "istio.io/waypoint-for";

/** spec.target.waypoint as the planner reads it. */
export interface WaypointSpecView {
  name: string;
  create?: boolean | undefined;
}

/** A Gateway of the namespace, as the waypoint steps read it. */
export interface GatewayFacts {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  gatewayClassName: string;
  /** The MeshMigration that created it (its owner annotation), if the operator did. */
  createdBy: string | undefined;
  /** When it was created (ms), which bounds the wait for Programmed. */
  createdAt: number | undefined;
  /** Being deleted (deletionTimestamp set): neither waited for nor deleted again. */
  terminating: boolean;
  /** status.conditions[type=Programmed], when the controller has written it. */
  programmed: { status: string; reason: string; message: string } | undefined;
}

interface GatewayObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string | Date;
    deletionTimestamp?: string | Date;
    annotations?: Record<string, string>;
  };
  spec?: { gatewayClassName?: string };
  status?: { conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }> };
}

/** The facts of a Gateway object as the cache keeps it (undefined: not a readable Gateway). */
export function gatewayFacts(object: unknown): GatewayFacts | undefined {
  const gateway = object as GatewayObject;
  const { name, namespace } = gateway.metadata ?? {};
  if (!name || !namespace) return undefined;
  const condition = gateway.status?.conditions?.find((c) => c.type === "Programmed");
  const created = gateway.metadata?.creationTimestamp;
  return {
    namespace,
    name,
    uid: gateway.metadata?.uid ?? "",
    resourceVersion: gateway.metadata?.resourceVersion ?? "",
    gatewayClassName: gateway.spec?.gatewayClassName ?? "",
    createdBy: gateway.metadata?.annotations?.[OWNER_ANNOTATION],
    createdAt: created === undefined ? undefined : new Date(created).getTime(),
    terminating: gateway.metadata?.deletionTimestamp !== undefined,
    programmed: condition && {
      status: condition.status ?? "Unknown",
      reason: condition.reason ?? "",
      message: condition.message ?? "",
    },
  };
}

/** The waypoint the operator creates: a Gateway of class istio-waypoint, marked with its owner. */
export function waypointManifest(namespace: string, name: string, owner: string) {
  return {
    apiVersion: `${GATEWAY_API.group}/${GATEWAY_API.version}`,
    kind: "Gateway",
    metadata: {
      name,
      namespace,
      labels: { [WAYPOINT_FOR_LABEL]: "service", [OWNER_LABEL]: owner },
      annotations: { [OWNER_ANNOTATION]: owner },
    },
    spec: {
      gatewayClassName: WAYPOINT_CLASS,
      listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }],
    },
  };
}

export function isProgrammed(gateway: GatewayFacts): boolean {
  return !gateway.terminating && gateway.programmed?.status === "True";
}

/** The namespace's Gateways once a waypoint action took effect (a created one Programmed by istiod). */
export function projectWaypointAction(
  gateways: readonly GatewayFacts[],
  action: CreateWaypointAction | DeleteWaypointAction,
): GatewayFacts[] {
  const others = gateways.filter((g) => g.name !== action.name);
  if (action.type === "DeleteWaypoint") return others;
  const created: GatewayFacts = {
    namespace: action.namespace,
    name: action.name,
    uid: `projected-${action.name}`,
    resourceVersion: "projected",
    gatewayClassName: WAYPOINT_CLASS,
    createdBy: action.owner,
    createdAt: undefined,
    terminating: false,
    programmed: { status: "True", reason: "Programmed", message: "" },
  };
  return [...others, created];
}
