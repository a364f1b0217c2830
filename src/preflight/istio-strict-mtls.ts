// IstioStrictMTLS: a PeerAuthentication in STRICT mode refuses plaintext, and a caller from
// across the boundary (Linkerd, or unmeshed) is plaintext to Istio. Precedence as in Istio: a
// workload policy (selector) over the namespace's policy over the mesh-wide one (root
// namespace, no selector); among equals the oldest wins; UNSET inherits.

import { matchesSelector } from "../api/label-selector.ts";
import type { MigrationWarning } from "../api/schema.ts";
import { crossing, type ExposedNamespace, exposedNamespaces, listNames } from "./boundary.ts";
import { describeMeshRef, workloadName } from "./describe.ts";
import type { PreflightInput } from "./input.ts";
import { type PeerAuthentication, qualifiedName, readPeerAuthentications } from "./policy-objects.ts";

export const DEFAULT_ISTIO_ROOT_NAMESPACE = "istio-system";

function oldestFirst(a: PeerAuthentication, b: PeerAuthentication): number {
  return (a.creationTimestamp ?? "").localeCompare(b.creationTimestamp ?? "") || a.name.localeCompare(b.name);
}

/** The policy that decides a whole namespace's mode (undefined: Istio's default, PERMISSIVE). */
function decidingPolicy(
  namespace: string,
  wholeNamespace: ReadonlyMap<string, PeerAuthentication>,
  root: string,
): PeerAuthentication | undefined {
  const sets = (policy: PeerAuthentication | undefined) =>
    policy !== undefined && policy.mode !== undefined && policy.mode !== "UNSET";
  const own = wholeNamespace.get(namespace);
  if (sets(own)) return own;
  const meshWide = wholeNamespace.get(root);
  return sets(meshWide) ? meshWide : undefined;
}

function described(ns: ExposedNamespace): string {
  return `${ns.name} (${ns.role})`;
}

function problemAndFix(input: PreflightInput, policy: PeerAuthentication, affected: ExposedNamespace[]) {
  const name = `PeerAuthentication ${qualifiedName(policy)}`;
  const callers =
    input.target.mesh === "linkerd" || input.source.mesh === "linkerd"
      ? "Istio and Linkerd do not share a trust root: a Linkerd proxy talks plaintext to pods outside Linkerd"
      : "unmeshed callers speak plaintext";
  const fix =
    `Fix: set spec.mtls.mode: PERMISSIVE on ${name} while the migration runs (and STRICT again once every ` +
    "caller is on the same mesh), or migrate callers and callees together in one batch.";
  if (crossing("istio", input.source, input.target) === "leaving") {
    return (
      `Workloads leaving Istio for ${describeMeshRef(input.target)} call Istio workloads in plaintext (${callers}), ` +
      `and STRICT refuses them in: ${listNames(affected.map(described))}. ${fix}`
    );
  }
  return (
    `Once pods join ${describeMeshRef(input.target)}, callers still outside Istio (on ` +
    `${describeMeshRef(input.source)} or unmeshed) reach them in plaintext (${callers}), and STRICT refuses them ` +
    `in: ${listNames(affected.map(described))}. ${fix}`
  );
}

export function istioStrictMtlsWarnings(input: PreflightInput): MigrationWarning[] {
  const exposed = exposedNamespaces("istio", input);
  if (exposed.length === 0) return [];
  const root = input.istioRootNamespace ?? DEFAULT_ISTIO_ROOT_NAMESPACE;
  const policies = readPeerAuthentications(input.policies.peerAuthentications).sort(oldestFirst);
  const wholeNamespace = new Map<string, PeerAuthentication>();
  for (const policy of policies) {
    if (policy.selector === undefined && !wholeNamespace.has(policy.namespace)) {
      wholeNamespace.set(policy.namespace, policy);
    }
  }

  const warnings: MigrationWarning[] = [];
  const byDecidingPolicy = new Map<PeerAuthentication, ExposedNamespace[]>();
  for (const ns of exposed) {
    const deciding = decidingPolicy(ns.name, wholeNamespace, root);
    if (deciding?.mode === "STRICT")
      byDecidingPolicy.set(deciding, [...(byDecidingPolicy.get(deciding) ?? []), ns]);

    for (const policy of policies.filter((p) => p.namespace === ns.name && p.selector !== undefined)) {
      const strict = policy.mode === "STRICT";
      if (!strict && policy.strictPorts.length === 0) continue;
      const selector = policy.selector ?? {};
      const selected = input
        .workloadsIn(ns.name)
        .filter((w) => matchesSelector(w.template.labels, selector))
        .map(workloadName);
      if (selected.length === 0) continue;
      const scope = strict
        ? "mTLS mode STRICT"
        : `mTLS mode STRICT on port(s) ${policy.strictPorts.join(", ")}`;
      warnings.push({
        code: "IstioStrictMTLS",
        severity: "Blocking",
        namespace: ns.name,
        message:
          `PeerAuthentication ${qualifiedName(policy)} sets ${scope} for ${listNames(selected)}. ` +
          problemAndFix(input, policy, [ns]),
      });
    }
  }

  for (const [policy, affected] of byDecidingPolicy) {
    const meshWide = policy.namespace === root;
    warnings.push({
      code: "IstioStrictMTLS",
      severity: "Blocking",
      namespace: meshWide ? undefined : policy.namespace,
      message:
        `PeerAuthentication ${qualifiedName(policy)} sets mTLS mode STRICT ` +
        `${meshWide ? "mesh-wide (root namespace, no selector)" : `for namespace ${policy.namespace}`}. ` +
        problemAndFix(input, policy, affected),
    });
  }
  return warnings;
}
