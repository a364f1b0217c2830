// What a sidecar enforces and ztunnel cannot, for namespaces moving into Istio ambient. ztunnel
// takes the selector-based and namespace-wide configuration of the workloads it captures, at L4
// only; a waypoint takes only what is attached to it by targetRefs. So, for the workloads of a
// moving namespace (Istio's authorization conversion for ztunnel, pilot's ambient/authorization.go):
// - an AuthorizationPolicy with HTTP attributes loses them: an ALLOW drops those rules (left with
//   none, it denies all traffic), a DENY denies on what is left (Blocking: an outage);
// - action CUSTOM is ignored, so the external authorizer is skipped (Blocking: fails open);
//   action AUDIT is ignored (a warning: only the audit is lost);
// - an EnvoyFilter is ignored, and waypoints do not support it either (Blocking: Istio's
//   migration guide calls it a blocker, and no waypoint changes that);
// - RequestAuthentication, WasmPlugin and Telemetry's HTTP settings stop applying until they are
//   attached to a waypoint (warnings).
// Everything here is acknowledged with strategy.blockOnWarnings: false.
import type { MigrationWarning } from "../api/schema.ts";
import { listNames } from "./boundary.ts";
import type { PreflightInput } from "./input.ts";
import {
  type AttachedObject,
  describeReach,
  istioRootNamespace,
  meshWide,
  type Reach,
  reachInMovingNamespaces,
} from "./istio-attachment.ts";
import {
  type AuthorizationPolicyL7,
  type EnvoyFilterObject,
  readAttachedObjects,
  readAuthorizationPoliciesL7,
  readEnvoyFilters,
  readTelemetries,
  type TelemetryL7,
} from "./istio-l7-objects.ts";
import { type WaypointFacts, waypointFacts } from "./istio-waypoint-facts.ts";
import { qualifiedName } from "./policy-objects.ts";

const ACKNOWLEDGE = "acknowledge with spec.strategy.blockOnWarnings: false";

/** An object that reaches workloads of moving namespaces, with what the messages say about it. */
interface Affected<T extends AttachedObject> {
  object: T;
  reach: Reach[];
  /** "AuthorizationPolicy shop/only-get (selects deployment/web in namespace shop)" */
  named: string;
  /** The warning's namespace: the object's own, none for a mesh-wide one. */
  namespace: string | undefined;
  /** How to attach it to a waypoint instead. */
  hint: AttachHint;
}

function scopeOf(input: PreflightInput, object: AttachedObject, reach: readonly Reach[]): string {
  const where = describeReach(object.attachment, reach);
  if (!meshWide(input, object)) return object.attachment.scope === "selector" ? `selects ${where}` : where;
  const root = istioRootNamespace(input);
  return object.attachment.scope === "selector"
    ? `in the root namespace ${root}, selects ${where}`
    : `mesh-wide (root namespace ${root}, no selector): ${where}`;
}

/** How to attach an object to a waypoint instead: first give the namespaces one, then target it. */
interface AttachHint {
  /** "give shop a waypoint first (...); then ", or "" when every namespace will have one. */
  first: string;
  /** The targetRefs to use. */
  targets: string;
}

function attachHint(facts: WaypointFacts, reach: readonly Reach[]): AttachHint {
  const group = "group: gateway.networking.k8s.io";
  const [only] = reach;
  const waypoint = reach.length === 1 && only ? facts.namespaceWaypoint(only.namespace) : undefined;
  if (waypoint) {
    return {
      first: "",
      targets: `targetRefs: [{kind: Gateway, ${group}, name: ${waypoint.name}}] (the waypoint of namespace ${waypoint.namespace})`,
    };
  }
  const without = reach.map((r) => r.namespace).filter((ns) => facts.namespaceWaypoint(ns) === undefined);
  return {
    first:
      without.length > 0
        ? `give ${listNames(without)} a waypoint first (spec.target.waypoint, e.g. {name: waypoint, create: true}); then `
        : "",
    targets: `targetRefs naming the waypoint (kind: Gateway, ${group}) or a Service it serves (kind: Service)`,
  };
}

function affected<T extends AttachedObject>(
  input: PreflightInput,
  facts: WaypointFacts,
  kind: string,
  objects: readonly T[],
): Array<Affected<T>> {
  return objects.flatMap((object) => {
    const reach = reachInMovingNamespaces(input, object);
    if (reach.length === 0) return [];
    return [
      {
        object,
        reach,
        named: `${kind} ${qualifiedName(object)} (${scopeOf(input, object, reach)})`,
        namespace: meshWide(input, object) ? undefined : object.namespace,
        hint: attachHint(facts, reach),
      },
    ];
  });
}

function warning(
  code: string,
  severity: MigrationWarning["severity"],
  found: Affected<AttachedObject>,
  message: string,
): MigrationWarning {
  return found.namespace === undefined
    ? { code, severity, message }
    : { code, severity, namespace: found.namespace, message };
}

// --- AuthorizationPolicy -----------------------------------------------------------------------

function authorizationPolicyProblem(policy: AuthorizationPolicyL7): string | undefined {
  const attributes = listNames(policy.httpAttributes, 6);
  const every = policy.httpRules === policy.rules;
  switch (policy.action) {
    case "ALLOW":
      if (policy.httpRules === 0) return undefined;
      return (
        `matches on HTTP attributes (${attributes}). ztunnel enforces it at L4 only and drops every rule that ` +
        (every
          ? "needs HTTP: an ALLOW policy left with no rule denies all traffic to these workloads"
          : `needs HTTP (${policy.httpRules} of ${policy.rules}): requests only those rules allowed are denied`)
      );
    case "DENY":
      if (policy.httpRules === 0) return undefined;
      return (
        `matches on HTTP attributes (${attributes}). ztunnel enforces it at L4 only and ignores those ` +
        "conditions, so each such rule denies every connection its other conditions match (all traffic to these " +
        "workloads when it has none)"
      );
    case "CUSTOM":
      return (
        "delegates to an external authorizer. ztunnel does not support action CUSTOM and ignores the policy: " +
        "the authorizer is no longer asked, and requests it would refuse get through"
      );
    case "AUDIT":
      return "audits requests. ztunnel does not support action AUDIT and ignores the policy: nothing is audited";
    default:
      return undefined;
  }
}

function authorizationPolicyWarnings(input: PreflightInput, facts: WaypointFacts): MigrationWarning[] {
  const policies = readAuthorizationPoliciesL7(input.policies.istioAuthorizationPolicies);
  return affected(input, facts, "AuthorizationPolicy", policies).flatMap((found) => {
    const problem = authorizationPolicyProblem(found.object);
    if (problem === undefined) return [];
    const { action, httpRules } = found.object;
    const remove = httpRules > 0 ? "delete this one (or its HTTP rules)" : "delete this one";
    return [
      warning(
        "IstioAmbientL7AuthorizationPolicy",
        action === "AUDIT" ? "Warning" : "Blocking",
        found,
        `${found.named}, action ${action}, ${problem} once the namespace is in istio-ambient. A waypoint does ` +
          `not take selector or namespace-wide policies, so it does not change this. Fix: ${found.hint.first}` +
          `add an AuthorizationPolicy with the same rules and ${found.hint.targets}, which the waypoint enforces, ` +
          `and ${remove} just before the namespace moves: sidecars do not read targetRefs policies, so Istio's ` +
          `migration guide accepts a short gap; or ${ACKNOWLEDGE}.`,
      ),
    ];
  });
}

// --- EnvoyFilter -------------------------------------------------------------------------------

function envoyFilterWarnings(input: PreflightInput, facts: WaypointFacts): MigrationWarning[] {
  const filters = readEnvoyFilters(input.policies.envoyFilters).filter(
    (filter: EnvoyFilterObject) => filter.sidecarPatches.length > 0,
  );
  return affected(input, facts, "EnvoyFilter", filters).map((found) =>
    warning(
      "IstioAmbientEnvoyFilter",
      "Blocking",
      found,
      `${found.named} patches the sidecar's Envoy (${listNames(found.object.sidecarPatches, 6)}). In istio-ambient ` +
        "these workloads have no sidecar: ztunnel ignores EnvoyFilter and waypoints do not support it, so its " +
        "patches silently stop applying (Istio's migration guide calls this a blocker). Fix: rebuild what it does " +
        "with a WasmPlugin or an HTTPRoute filter attached to a waypoint, or delete it if nothing needs it any " +
        `more; to move without it, ${ACKNOWLEDGE}.`,
    ),
  );
}

// --- RequestAuthentication, WasmPlugin, Telemetry ----------------------------------------------

function requestAuthenticationWarnings(input: PreflightInput, facts: WaypointFacts): MigrationWarning[] {
  const objects = readAttachedObjects(input.policies.requestAuthentications);
  return affected(input, facts, "RequestAuthentication", objects).map((found) =>
    warning(
      "IstioAmbientRequestAuthentication",
      "Warning",
      found,
      `${found.named} has the sidecar validate JWTs. ztunnel does not read HTTP: once the namespace is in ` +
        "istio-ambient no token is validated for these workloads, and AuthorizationPolicy rules on " +
        `requestPrincipals match nothing. Fix: ${found.hint.first}attach it to the waypoint with ${found.hint.targets}.`,
    ),
  );
}

function wasmPluginWarnings(input: PreflightInput, facts: WaypointFacts): MigrationWarning[] {
  const objects = readAttachedObjects(input.policies.wasmPlugins);
  return affected(input, facts, "WasmPlugin", objects).map((found) =>
    warning(
      "IstioAmbientWasmPlugin",
      "Warning",
      found,
      `${found.named} runs in the sidecar's Envoy. ztunnel runs no Wasm: once the namespace is in istio-ambient ` +
        `the plugin no longer runs for these workloads. Fix: ${found.hint.first}attach it to the waypoint with ` +
        `${found.hint.targets}.`,
    ),
  );
}

/** Selector Telemetry configures sidecars only; namespace- and mesh-wide Telemetry needs a waypoint to apply to. */
function telemetryLoses(facts: WaypointFacts, found: Affected<TelemetryL7>): Reach[] {
  if (found.object.attachment.scope === "selector") return found.reach;
  return found.reach.filter((reach) => facts.namespaceWaypoint(reach.namespace) === undefined);
}

function telemetryWarnings(input: PreflightInput, facts: WaypointFacts): MigrationWarning[] {
  const objects = readTelemetries(input.policies.telemetries).filter((t) => t.httpSettings.length > 0);
  return affected(input, facts, "Telemetry", objects).flatMap((found) => {
    const losing = telemetryLoses(facts, found);
    if (losing.length === 0) return [];
    const settings = listNames(found.object.httpSettings);
    const why =
      found.object.attachment.scope === "selector"
        ? "a waypoint applies no workload-selector Telemetry"
        : `${listNames(losing.map((r) => r.namespace))} will have no waypoint`;
    return [
      warning(
        "IstioAmbientTelemetry",
        "Warning",
        found,
        `${found.named} sets ${settings}, which only an HTTP-aware proxy produces. ztunnel reports TCP metrics ` +
          `only and ${why}: once the namespace is in istio-ambient these settings stop for these workloads. ` +
          `Fix: ${found.hint.first}attach it to the waypoint with ${found.hint.targets}.`,
      ),
    ];
  });
}

export function istioAmbientL7Warnings(input: PreflightInput): MigrationWarning[] {
  if (input.target.mesh !== "istio-ambient") return [];
  const facts = waypointFacts(input);
  return [
    ...authorizationPolicyWarnings(input, facts),
    ...envoyFilterWarnings(input, facts),
    ...requestAuthenticationWarnings(input, facts),
    ...wasmPluginWarnings(input, facts),
    ...telemetryWarnings(input, facts),
  ];
}
