// The preflight: everything that would break once namespaces start moving, found before the
// first change. Pure: it reads the facts it is given and nothing else.
import type { MigrationWarning } from "../api/schema.ts";
import { consulDefaultDenyWarnings, consulIntentionSourceWarnings } from "./consul-intentions.ts";
import { consulStrictMutualTLSWarnings } from "./consul-mutual-tls.ts";
import {
  consulMeshDestinationsOnlyWarnings,
  consulTransparentProxyWarnings,
} from "./consul-transparent-proxy.ts";
import { injectorFailurePolicyWarnings } from "./injector-failure-policy.ts";
import type { PreflightInput } from "./input.ts";
import { istioAmbientL7Warnings } from "./istio-ambient-l7.ts";
import { istioAmbientRoutingWarnings } from "./istio-ambient-routing.ts";
import { istioAmbientWaypointWarnings } from "./istio-ambient-waypoints.ts";
import { istioAuthorizationWarnings } from "./istio-authorization.ts";
import { istioHboneWarnings } from "./istio-hbone-capable.ts";
import { istioStrictMtlsWarnings } from "./istio-strict-mtls.ts";
import { linkerdInboundPolicyWarnings } from "./linkerd-inbound-policy.ts";
import { linkerdServerWarnings } from "./linkerd-servers.ts";
import { targetOptOutWarnings } from "./target-opt-outs.ts";
import { uninjectableWorkloadWarnings } from "./uninjectable-workloads.ts";
import { unreadablePolicyWarnings } from "./unreadable-policies.ts";

/** One function per warning family; adding a check means adding it here. */
const CHECKS: ReadonlyArray<(input: PreflightInput) => MigrationWarning[]> = [
  istioStrictMtlsWarnings,
  istioAuthorizationWarnings,
  linkerdInboundPolicyWarnings,
  linkerdServerWarnings,
  injectorFailurePolicyWarnings,
  uninjectableWorkloadWarnings,
  targetOptOutWarnings,
  unreadablePolicyWarnings,
  istioAmbientL7Warnings,
  istioAmbientRoutingWarnings,
  istioAmbientWaypointWarnings,
  istioHboneWarnings,
  consulIntentionSourceWarnings,
  consulDefaultDenyWarnings,
  consulStrictMutualTLSWarnings,
  consulMeshDestinationsOnlyWarnings,
  consulTransparentProxyWarnings,
];

/** Blocking first, then by code, namespace and message, so the list is stable between runs. */
function byImportance(a: MigrationWarning, b: MigrationWarning): number {
  const severity = (w: MigrationWarning) => (w.severity === "Blocking" ? 0 : 1);
  return (
    severity(a) - severity(b) ||
    a.code.localeCompare(b.code) ||
    (a.namespace ?? "").localeCompare(b.namespace ?? "") ||
    a.message.localeCompare(b.message)
  );
}

export function preflightWarnings(input: PreflightInput): MigrationWarning[] {
  return CHECKS.flatMap((check) => check(input)).sort(byImportance);
}

/** Whether the warnings stop the migration under strategy.blockOnWarnings. */
export function hasBlockingWarnings(warnings: readonly MigrationWarning[]): boolean {
  return warnings.some((warning) => warning.severity === "Blocking");
}
