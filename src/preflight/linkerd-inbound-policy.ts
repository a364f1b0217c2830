// LinkerdDefaultInboundPolicy: config.linkerd.io/default-inbound-policy on a namespace or a pod
// template (or Linkerd's cluster-wide default) decides what a Linkerd proxy accepts on ports no
// Server covers. The authenticated policies accept only Linkerd mTLS, and deny accepts only what
// an AuthorizationPolicy allows; callers from across the boundary are plaintext to Linkerd.
//
// Severity: deny is Blocking, like Istio STRICT (the issue's "STRICT and deny cases block by
// default"). all-authenticated and cluster-authenticated are Warnings: they too refuse plaintext,
// but Linkerd's recommended hardening usually comes with Servers and AuthorizationPolicies (a
// NetworkAuthentication) for the ports that take outside traffic, which override the default;
// LinkerdServerRequiresMeshTLS reports Servers that would still refuse it.
import type { MigrationWarning } from "../api/schema.ts";
import { DEFAULT_INBOUND_POLICY_ANNOTATION } from "../meshes/linkerd.ts";
import { markerValue } from "../meshes/markers.ts";
import { crossing, type ExposedNamespace, exposedNamespaces, listNames } from "./boundary.ts";
import { describeMeshRef, workloadName } from "./describe.ts";
import type { PreflightInput } from "./input.ts";

const REFUSES_PLAINTEXT: Record<string, string> = {
  deny: "refuses every connection that no Server and AuthorizationPolicy allows explicitly",
  "all-authenticated": "accepts only mTLS connections from Linkerd proxies",
  "cluster-authenticated": "accepts only mTLS connections from Linkerd proxies in the cluster's networks",
};

function refusesPlaintext(policy: string | undefined): policy is string {
  return policy !== undefined && Object.hasOwn(REFUSES_PLAINTEXT, policy);
}

function severityOf(policy: string): MigrationWarning["severity"] {
  return policy === "deny" ? "Blocking" : "Warning";
}

/** Who is refused where, when Linkerd proxies in these namespaces refuse plaintext. */
export function linkerdRefusals(input: PreflightInput, affected: readonly ExposedNamespace[]): string {
  const where = listNames(affected.map((ns) => `${ns.name} (${ns.role})`));
  if (crossing("linkerd", input.source, input.target) === "leaving") {
    return (
      `Workloads leaving Linkerd for ${describeMeshRef(input.target)} call Linkerd workloads in plaintext ` +
      `(the meshes do not share a trust root) and are refused in: ${where}.`
    );
  }
  return (
    `Callers that stay outside Linkerd (on ${describeMeshRef(input.source)}, or unmeshed) reach the moved pods ` +
    `in plaintext and are refused in: ${where}.`
  );
}

function fix(input: PreflightInput, setting: string): string {
  const restart =
    crossing("linkerd", input.source, input.target) === "leaving"
      ? " and restart the workloads (the proxy reads it when it is injected)"
      : " before the migration starts (the moved pods are injected with it)";
  return (
    `Fix: set ${setting} to all-unauthenticated (or cluster-unauthenticated) while the migration runs${restart}, ` +
    "authorize the callers with a Server and an AuthorizationPolicy on a NetworkAuthentication, or migrate callers " +
    "and callees together."
  );
}

export function linkerdInboundPolicyWarnings(input: PreflightInput): MigrationWarning[] {
  const exposed = exposedNamespaces("linkerd", input);
  const clusterDefault = input.linkerdDefaultInboundPolicy;
  const warnings: MigrationWarning[] = [];
  const onClusterDefault: ExposedNamespace[] = [];

  for (const ns of exposed) {
    const markers = input.namespaces.get(ns.name)?.markers;
    const own = markers ? markerValue(markers, "annotation", DEFAULT_INBOUND_POLICY_ANNOTATION) : undefined;
    const effective = own ?? clusterDefault;
    const workloads = input.workloadsIn(ns.name).map((w) => ({
      name: workloadName(w),
      policy: markerValue(w.template, "annotation", DEFAULT_INBOUND_POLICY_ANNOTATION),
    }));

    if (refusesPlaintext(effective)) {
      const exempt = workloads.filter((w) => w.policy !== undefined && !refusesPlaintext(w.policy));
      const except =
        exempt.length > 0
          ? ` (except ${listNames(exempt.map((w) => `${w.name}, which sets ${w.policy}`))})`
          : "";
      if (own === undefined) onClusterDefault.push(ns);
      else {
        warnings.push({
          code: "LinkerdDefaultInboundPolicy",
          severity: severityOf(own),
          namespace: ns.name,
          message:
            `Namespace ${ns.name} sets ${DEFAULT_INBOUND_POLICY_ANNOTATION}: ${own}, so its Linkerd proxies ` +
            `${REFUSES_PLAINTEXT[own]}${except}. ${linkerdRefusals(input, [ns])} ` +
            fix(input, `the annotation on namespace ${ns.name}`),
        });
      }
    }

    for (const workload of workloads) {
      if (!refusesPlaintext(workload.policy) || workload.policy === effective) continue;
      warnings.push({
        code: "LinkerdDefaultInboundPolicy",
        severity: severityOf(workload.policy),
        namespace: ns.name,
        message:
          `The pod template of ${workload.name} in namespace ${ns.name} sets ${DEFAULT_INBOUND_POLICY_ANNOTATION}: ` +
          `${workload.policy}, so its Linkerd proxies ${REFUSES_PLAINTEXT[workload.policy]}. ` +
          `${linkerdRefusals(input, [ns])} ${fix(input, `the pod-template annotation of ${workload.name}`)}`,
      });
    }
  }

  if (refusesPlaintext(clusterDefault) && onClusterDefault.length > 0) {
    warnings.push({
      code: "LinkerdDefaultInboundPolicy",
      severity: severityOf(clusterDefault),
      message:
        `Linkerd's cluster-wide default inbound policy (proxy.defaultInboundPolicy) is ${clusterDefault}, so ` +
        `proxies in namespaces without ${DEFAULT_INBOUND_POLICY_ANNOTATION} ${REFUSES_PLAINTEXT[clusterDefault]}. ` +
        `${linkerdRefusals(input, onClusterDefault)} ` +
        fix(input, `${DEFAULT_INBOUND_POLICY_ANNOTATION} on those namespaces`),
    });
  }
  return warnings;
}
