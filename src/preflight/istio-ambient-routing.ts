// HTTP routing a sidecar applies and ztunnel cannot, for the Services of namespaces moving into
// Istio ambient (warnings). Callers' sidecars apply a VirtualService today; in ambient only a
// waypoint routes HTTP, and it takes VirtualService as an Alpha feature only: Istio's migration
// guide converts them to HTTPRoute, which routes to Services, not DestinationRule subsets.
import type { MigrationWarning } from "../api/schema.ts";
import { listNames, movingNamespaces } from "./boundary.ts";
import type { PreflightInput } from "./input.ts";
import {
  type DestinationRuleObject,
  hostNamespace,
  readDestinationRules,
  readVirtualServices,
  type VirtualServiceObject,
} from "./istio-routing-objects.ts";
import { describeWaypoint, type WaypointFacts, waypointFacts } from "./istio-waypoint-facts.ts";
import { qualifiedName } from "./policy-objects.ts";

/** The hosts of a VirtualService that are Services of each moving namespace. */
function movingHosts(vs: VirtualServiceObject, moving: ReadonlySet<string>): Map<string, string[]> {
  const byNamespace = new Map<string, string[]>();
  for (const host of vs.hosts) {
    const namespace = hostNamespace(host, vs.namespace);
    if (namespace === undefined || !moving.has(namespace)) continue;
    byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), host]);
  }
  return byNamespace;
}

function virtualServiceMessage(
  vs: VirtualServiceObject,
  namespace: string,
  hosts: readonly string[],
  facts: WaypointFacts,
): string {
  const routes = `${vs.httpRoutes} HTTP route${vs.httpRoutes === 1 ? "" : "s"}`;
  const head =
    `VirtualService ${qualifiedName(vs)} routes HTTP (${routes}) for ${listNames(hosts)}, Services of namespace ` +
    `${namespace}; the callers' sidecars apply it today. In istio-ambient ztunnel is L4 only`;
  const convert =
    'convert it to an HTTPRoute whose parentRefs name the Service (kind: Service, group: ""), and delete the ' +
    "VirtualService once no sidecar caller needs it";
  const waypoint = facts.namespaceWaypoint(namespace);
  if (waypoint) {
    return (
      `${head}: the ${describeWaypoint(waypoint)} applies a VirtualService only as an Alpha feature, and a ` +
      `VirtualService and an HTTPRoute for the same Service is undefined behaviour. Fix: ${convert}.`
    );
  }
  return (
    `${head}, and ${namespace} will have no waypoint: callers in ambient (${namespace}'s own workloads once ` +
    `moved) reach these Services without these routes. Fix: give ${namespace} a waypoint (spec.target.waypoint, ` +
    `e.g. {name: waypoint, create: true}) and ${convert}.`
  );
}

function virtualServiceWarnings(input: PreflightInput, facts: WaypointFacts, moving: ReadonlySet<string>) {
  return readVirtualServices(input.policies.virtualServices)
    .filter((vs) => vs.boundToMesh && vs.httpRoutes > 0)
    .flatMap((vs) =>
      [...movingHosts(vs, moving)].map(
        ([namespace, hosts]): MigrationWarning => ({
          code: "IstioAmbientVirtualService",
          severity: "Warning",
          namespace,
          message: virtualServiceMessage(vs, namespace, hosts, facts),
        }),
      ),
    );
}

function subsetMessage(rule: DestinationRuleObject, namespace: string): string {
  return (
    `DestinationRule ${qualifiedName(rule)} defines subsets (${listNames(rule.subsets)}) of ${rule.host}, a ` +
    `Service of namespace ${namespace}, for VirtualService routes. HTTPRoute, which replaces VirtualService in ` +
    "istio-ambient, routes to Services, not subsets. Fix: create one Service per subset (selecting its version " +
    "label) and route to them with backendRefs; the DestinationRule's traffic policy (connection pool, outlier " +
    "detection, TLS) needs no change."
  );
}

function destinationRuleWarnings(input: PreflightInput, moving: ReadonlySet<string>): MigrationWarning[] {
  return readDestinationRules(input.policies.destinationRules).flatMap((rule) => {
    const namespace = hostNamespace(rule.host, rule.namespace);
    if (rule.subsets.length === 0 || namespace === undefined || !moving.has(namespace)) return [];
    return [
      {
        code: "IstioAmbientDestinationRuleSubsets",
        severity: "Warning",
        namespace,
        message: subsetMessage(rule, namespace),
      },
    ];
  });
}

export function istioAmbientRoutingWarnings(input: PreflightInput): MigrationWarning[] {
  if (input.target.mesh !== "istio-ambient") return [];
  const moving = new Set(movingNamespaces(input).map((ns) => ns.name));
  return [
    ...virtualServiceWarnings(input, waypointFacts(input), moving),
    ...destinationRuleWarnings(input, moving),
  ];
}
