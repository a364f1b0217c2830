// Waypoints that will not be there for namespaces moving into Istio ambient:
// - IstioWaypointMissing (Blocking): spec.target.waypoint names a waypoint that must exist (create
//   unset) and a moving namespace has no such Gateway of gatewayClassName istio-waypoint;
// - IstioUseWaypointMissing: the namespace or its Services are labelled istio.io/use-waypoint
//   with a waypoint that does not exist, so their traffic will go through none;
// - IstioWaypointTargetMissing: an object attached by targetRefs to a waypoint that does not
//   exist or is not used, or to a Service that will have no waypoint. ztunnel skips targetRefs
//   objects, and sidecars never read them: nothing enforces them. For an AuthorizationPolicy that
//   fails open, what it should refuse gets through (istio/istio#57315): Blocking.
import type { MigrationWarning } from "../api/schema.ts";
import { USE_WAYPOINT_LABEL } from "../meshes/istio-ambient.ts";
import { listNames, movingNamespaces } from "./boundary.ts";
import type { PreflightInput } from "./input.ts";
import type { AttachedObject, TargetRef } from "./istio-attachment.ts";
import { readAttachedObjects, readAuthorizationPoliciesL7, readTelemetries } from "./istio-l7-objects.ts";
import {
  type UseWaypointLabel,
  WAYPOINT_GATEWAY_CLASS,
  type WaypointFacts,
  waypointFacts,
} from "./istio-waypoint-facts.ts";
import { qualifiedName } from "./policy-objects.ts";

const GATEWAY_API_GROUP = "gateway.networking.k8s.io";
const CORE_GROUPS: ReadonlySet<string> = new Set(["", "core"]);
const CREATE_HINT = "spec.target.waypoint: {name: NAME, create: true}";

// --- spec.target.waypoint ----------------------------------------------------------------------

function plannedWaypointWarnings(input: PreflightInput, facts: WaypointFacts): MigrationWarning[] {
  const planned = input.waypoint;
  if (planned === undefined || planned.create === true) return [];
  return movingNamespaces(input).flatMap(({ name: namespace }) => {
    const found = facts.gatewayClass(namespace, planned.name);
    if (found === WAYPOINT_GATEWAY_CLASS) return [];
    const what =
      found === undefined
        ? `namespace ${namespace} has no Gateway ${planned.name}`
        : `Gateway ${namespace}/${planned.name} is of gatewayClassName ${found || "(none)"}, not ${WAYPOINT_GATEWAY_CLASS}`;
    return [
      {
        code: "IstioWaypointMissing",
        severity: "Blocking" as const,
        namespace,
        message:
          `spec.target.waypoint names ${planned.name}, which must already exist in every moved namespace, but ${what}. ` +
          `Fix: create it (istioctl waypoint apply -n ${namespace} --name ${planned.name}) and wait until it is ` +
          "Programmed, or set spec.target.waypoint.create: true to have the operator create it.",
      },
    ];
  });
}

// --- istio.io/use-waypoint labels --------------------------------------------------------------

function dangling(facts: WaypointFacts, label: UseWaypointLabel | undefined): boolean {
  return label !== undefined && !facts.isWaypoint(label.waypoint.namespace, label.waypoint.name);
}

function useWaypointWarnings(input: PreflightInput, facts: WaypointFacts): MigrationWarning[] {
  return movingNamespaces(input).flatMap(({ name: namespace }) => {
    // The migration sets the namespace's label itself when spec.target.waypoint is given.
    const own = input.waypoint === undefined ? facts.namespaceLabel(namespace) : undefined;
    const services = [...facts.serviceLabels(namespace)].filter(([, label]) => dangling(facts, label));
    const labelled = [
      ...(own && dangling(facts, own) ? [`namespace ${namespace} (${USE_WAYPOINT_LABEL}=${own.value})`] : []),
      ...services.map(([service, label]) => `Service ${service} (${USE_WAYPOINT_LABEL}=${label.value})`),
    ];
    if (labelled.length === 0) return [];
    return [
      {
        code: "IstioUseWaypointMissing",
        severity: "Warning" as const,
        namespace,
        message:
          `${listNames(labelled)} name${labelled.length === 1 ? "s" : ""} a waypoint that does not exist (no Gateway of ` +
          `gatewayClassName ${WAYPOINT_GATEWAY_CLASS} by that name): in istio-ambient that traffic goes through no ` +
          "waypoint, so nothing applies L7 policy or HTTP routes to it. Fix: create the waypoint " +
          `(istioctl waypoint apply -n NAMESPACE --name NAME) before the move, or use ${CREATE_HINT}.`,
      },
    ];
  });
}

// --- targetRefs --------------------------------------------------------------------------------

/** Why a target will have no waypoint to enforce what is attached to it, or undefined when it will. */
function unenforcedTarget(facts: WaypointFacts, namespace: string, ref: TargetRef): string | undefined {
  if (ref.kind === "Service" && CORE_GROUPS.has(ref.group)) {
    if (facts.serviceWaypoint(namespace, ref.name)) return undefined;
    return `Service ${ref.name}, which will have no waypoint (neither it nor namespace ${namespace} is labelled ${USE_WAYPOINT_LABEL} with an existing one)`;
  }
  if (ref.kind !== "Gateway" || ref.group !== GATEWAY_API_GROUP) return undefined;
  const gatewayClass = facts.gatewayClass(namespace, ref.name);
  if (!facts.isWaypoint(namespace, ref.name)) {
    // Another class is an ingress or egress gateway: it enforces what is attached to it.
    return gatewayClass === undefined
      ? `Gateway ${ref.name}, which does not exist in namespace ${namespace}`
      : undefined;
  }
  const used =
    facts.namespaceWaypoint(namespace)?.name === ref.name ||
    [...facts.serviceLabels(namespace).values()].some((label) => label.waypoint.name === ref.name);
  return used
    ? undefined
    : `waypoint ${ref.name}, which neither namespace ${namespace} nor any of its Services uses (${USE_WAYPOINT_LABEL})`;
}

interface TargetedKind {
  kind: string;
  objects: readonly AttachedObject[];
  blocking: boolean;
  consequence: string;
}

function targetedKinds(input: PreflightInput): TargetedKind[] {
  const { policies } = input;
  return [
    {
      kind: "AuthorizationPolicy",
      objects: readAuthorizationPoliciesL7(policies.istioAuthorizationPolicies),
      blocking: true,
      consequence: "what it should refuse gets through (as in istio/istio#57315)",
    },
    {
      kind: "RequestAuthentication",
      objects: readAttachedObjects(policies.requestAuthentications),
      blocking: false,
      consequence: "no JWT is validated",
    },
    {
      kind: "WasmPlugin",
      objects: readAttachedObjects(policies.wasmPlugins),
      blocking: false,
      consequence: "the plugin runs nowhere",
    },
    {
      kind: "Telemetry",
      objects: readTelemetries(policies.telemetries),
      blocking: false,
      consequence: "its settings apply to nothing",
    },
  ];
}

function targetRefWarnings(input: PreflightInput, facts: WaypointFacts): MigrationWarning[] {
  const moving = new Set(movingNamespaces(input).map((ns) => ns.name));
  return targetedKinds(input).flatMap(({ kind, objects, blocking, consequence }) =>
    objects.flatMap((object) => {
      if (object.attachment.scope !== "targetRefs" || !moving.has(object.namespace)) return [];
      const problems = object.attachment.refs.flatMap(
        (ref) => unenforcedTarget(facts, object.namespace, ref) ?? [],
      );
      if (problems.length === 0) return [];
      return [
        {
          code: "IstioWaypointTargetMissing",
          severity: blocking ? ("Blocking" as const) : ("Warning" as const),
          namespace: object.namespace,
          message:
            `${kind} ${qualifiedName(object)} is attached (targetRefs) to ${listNames(problems, 5)}. Once namespace ` +
            `${object.namespace} is in istio-ambient nothing enforces it (ztunnel skips targetRefs objects and ` +
            `sidecars never read them): ${consequence}. Fix: create the waypoint and label the namespace or the ` +
            `Service ${USE_WAYPOINT_LABEL}=NAME, or use ${CREATE_HINT}; or point targetRefs at the waypoint the ` +
            `namespace uses${blocking ? "; or acknowledge with spec.strategy.blockOnWarnings: false" : ""}.`,
        },
      ];
    }),
  );
}

export function istioAmbientWaypointWarnings(input: PreflightInput): MigrationWarning[] {
  if (input.target.mesh !== "istio-ambient") return [];
  const facts = waypointFacts(input);
  return [
    ...plannedWaypointWarnings(input, facts),
    ...useWaypointWarnings(input, facts),
    ...targetRefWarnings(input, facts),
  ];
}
