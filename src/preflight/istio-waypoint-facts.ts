// Which waypoint a moving namespace, or one of its Services, will use in Istio ambient. A
// waypoint is a Gateway of gatewayClassName istio-waypoint; traffic goes through it when the
// Service, or else its namespace, is labelled istio.io/use-waypoint with its name (and
// istio.io/use-waypoint-namespace when it lives elsewhere). The migration's spec.target.waypoint
// names the one every moved namespace will use, and wins over the namespace's own label.
import { z } from "zod";
import { USE_WAYPOINT_LABEL } from "../meshes/istio-ambient.ts";
import { movingNamespaces } from "./boundary.ts";
import type { PreflightInput } from "./input.ts";
import { metadataSchema } from "./istio-attachment.ts";
import { type ObjectName, readAll } from "./policy-objects.ts";

export const WAYPOINT_GATEWAY_CLASS = "istio-waypoint";
export const USE_WAYPOINT_NAMESPACE_LABEL = "istio.io/use-waypoint-namespace";
/** The label value that opts a Service (or namespace) out of any waypoint. */
const NO_WAYPOINT = "none";

const gatewaySchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({ gatewayClassName: z.string().default("") }).default({ gatewayClassName: "" }),
});

const serviceSchema = z.looseObject({
  metadata: metadataSchema.extend({ labels: z.record(z.string(), z.string()).default({}) }),
});

export interface Waypoint extends ObjectName {
  /** How it was chosen, for messages. */
  via: string;
}

/** A use-waypoint label and the waypoint it names (in its own namespace unless told otherwise). */
export interface UseWaypointLabel {
  value: string;
  waypoint: ObjectName;
}

export interface WaypointFacts {
  /** The gatewayClassName of a Gateway, or undefined when there is no such Gateway. */
  gatewayClass(namespace: string, name: string): string | undefined;
  /** Whether a waypoint of that name exists there, or the migration will make it (spec.target.waypoint). */
  isWaypoint(namespace: string, name: string): boolean;
  /** The waypoint a moving namespace will use, if any. */
  namespaceWaypoint(namespace: string): Waypoint | undefined;
  /** The waypoint a Service of a moving namespace will use, if any: its own label, else its namespace's. */
  serviceWaypoint(namespace: string, service: string): Waypoint | undefined;
  /** The namespace's own use-waypoint label, when it names a waypoint. */
  namespaceLabel(namespace: string): UseWaypointLabel | undefined;
  /** The Services of a namespace whose use-waypoint label names a waypoint, by name. */
  serviceLabels(namespace: string): ReadonlyMap<string, UseWaypointLabel>;
}

function labelOf(labels: Record<string, string>, namespace: string): UseWaypointLabel | undefined {
  const value = labels[USE_WAYPOINT_LABEL];
  if (value === undefined || value === "" || value === NO_WAYPOINT) return undefined;
  return { value, waypoint: { namespace: labels[USE_WAYPOINT_NAMESPACE_LABEL] || namespace, name: value } };
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function waypointFacts(input: PreflightInput): WaypointFacts {
  const classes = new Map(
    readAll(input.policies.gateways, gatewaySchema, ({ metadata, spec }) => [
      key(metadata.namespace, metadata.name),
      spec.gatewayClassName,
    ]),
  );
  const services = readAll(input.policies.services, serviceSchema, ({ metadata }) => metadata);
  const moving = new Set(movingNamespaces(input).map((ns) => ns.name));
  const planned = input.waypoint;

  const isWaypoint = (namespace: string, name: string) =>
    classes.get(key(namespace, name)) === WAYPOINT_GATEWAY_CLASS ||
    (planned?.name === name && moving.has(namespace));
  const fromLabel = (label: UseWaypointLabel | undefined, via: string): Waypoint | undefined =>
    label && isWaypoint(label.waypoint.namespace, label.waypoint.name)
      ? { ...label.waypoint, via }
      : undefined;
  const namespaceLabel = (namespace: string) => {
    const markers = input.namespaces.get(namespace)?.markers;
    return markers ? labelOf(markers.labels, namespace) : undefined;
  };
  const namespaceWaypoint = (namespace: string): Waypoint | undefined => {
    if (planned && moving.has(namespace)) {
      const how = planned.create ? "spec.target.waypoint, created by the operator" : "spec.target.waypoint";
      return { namespace, name: planned.name, via: how };
    }
    return fromLabel(namespaceLabel(namespace), `namespace label ${USE_WAYPOINT_LABEL}`);
  };
  const serviceLabels = (namespace: string) =>
    new Map(
      services
        .filter((service) => service.namespace === namespace)
        .flatMap((service) => {
          const label = labelOf(service.labels, namespace);
          return label ? [[service.name, label] as const] : [];
        }),
    );
  const optedOut = (namespace: string, service: string) =>
    services.some(
      (s) => s.namespace === namespace && s.name === service && s.labels[USE_WAYPOINT_LABEL] === NO_WAYPOINT,
    );

  return {
    gatewayClass: (namespace, name) => classes.get(key(namespace, name)),
    isWaypoint,
    namespaceWaypoint,
    serviceWaypoint: (namespace, service) => {
      if (optedOut(namespace, service)) return undefined;
      const own = serviceLabels(namespace).get(service);
      if (own) return fromLabel(own, `Service label ${USE_WAYPOINT_LABEL}`);
      return namespaceWaypoint(namespace);
    },
    namespaceLabel,
    serviceLabels,
  };
}

/** "the waypoint W of namespace N (namespace label istio.io/use-waypoint)", for messages. */
export function describeWaypoint(waypoint: Waypoint): string {
  return `waypoint ${waypoint.name} of namespace ${waypoint.namespace} (${waypoint.via})`;
}
