// LinkerdServerRequiresMeshTLS: a Server whose AuthorizationPolicies all require a
// MeshTLSAuthentication admits only clients with a Linkerd identity; callers from across the
// boundary have none. A Server whose accessPolicy admits unauthenticated traffic, or that
// another AuthorizationPolicy opens to plaintext (a NetworkAuthentication), is fine.
import type { MigrationWarning } from "../api/schema.ts";
import { exposedNamespaces, listNames } from "./boundary.ts";
import type { PreflightInput } from "./input.ts";
import { linkerdRefusals } from "./linkerd-inbound-policy.ts";
import {
  type LinkerdAuthorizationPolicy,
  type LinkerdServer,
  type MeshTLSAuthentication,
  qualifiedName,
  type Reference,
  readLinkerdAuthorizationPolicies,
  readLinkerdServers,
  readMeshTLSAuthentications,
} from "./policy-objects.ts";

const POLICY_GROUP = "policy.linkerd.io";
const ADMITS_UNAUTHENTICATED = new Set(["all-unauthenticated", "cluster-unauthenticated", "audit"]);

function targets(policy: LinkerdAuthorizationPolicy, server: LinkerdServer): boolean {
  const { target } = policy;
  if (target.kind === "Server") return target.group === POLICY_GROUP && target.name === server.name;
  if (target.kind === "Namespace")
    return (target.group === "" || target.group === "core") && target.name === server.namespace;
  return false;
}

function isMeshTLS(ref: Reference): boolean {
  return ref.kind === "MeshTLSAuthentication" && (ref.group === "" || ref.group === POLICY_GROUP);
}

function requiresMeshTLS(policy: LinkerdAuthorizationPolicy): boolean {
  return policy.requiredAuthentications.some(isMeshTLS);
}

function describeAuthentication(
  ref: Reference,
  policy: LinkerdAuthorizationPolicy,
  known: readonly MeshTLSAuthentication[],
): string {
  const namespace = ref.namespace ?? policy.namespace;
  const name = `MeshTLSAuthentication ${namespace}/${ref.name ?? "*"}`;
  const found = known.find((auth) => auth.namespace === namespace && auth.name === ref.name);
  if (!found) return name;
  const identities = [
    ...found.identities,
    ...found.identityRefs.map((r) => `${r.kind} ${r.namespace ?? found.namespace}/${r.name ?? "*"}`),
  ];
  return identities.length > 0 ? `${name} (identities: ${listNames(identities, 5)})` : name;
}

export function linkerdServerWarnings(input: PreflightInput): MigrationWarning[] {
  const exposed = new Map(exposedNamespaces("linkerd", input).map((ns) => [ns.name, ns]));
  if (exposed.size === 0) return [];
  const policies = readLinkerdAuthorizationPolicies(input.policies.linkerdAuthorizationPolicies);
  const authentications = readMeshTLSAuthentications(input.policies.meshTLSAuthentications);

  return readLinkerdServers(input.policies.linkerdServers).flatMap((server) => {
    const ns = exposed.get(server.namespace);
    if (ns === undefined || ADMITS_UNAUTHENTICATED.has(server.accessPolicy)) return [];
    const authorizing = policies.filter(
      (policy) => policy.namespace === server.namespace && targets(policy, server),
    );
    const meshTLSOnly = authorizing.filter(requiresMeshTLS);
    if (meshTLSOnly.length === 0 || meshTLSOnly.length < authorizing.length) return [];
    const requirements = meshTLSOnly.map((policy) => {
      const needs = policy.requiredAuthentications
        .filter(isMeshTLS)
        .map((ref) => describeAuthentication(ref, policy, authentications));
      return `AuthorizationPolicy ${qualifiedName(policy)} requires ${needs.join(" and ")}`;
    });
    return [
      {
        code: "LinkerdServerRequiresMeshTLS",
        severity: "Warning" as const,
        namespace: server.namespace,
        message:
          `Server ${qualifiedName(server)} (port ${server.port}, accessPolicy ${server.accessPolicy}) admits only ` +
          `clients with a Linkerd identity: ${requirements.join("; ")}. ${linkerdRefusals(input, [ns])} ` +
          `Fix: while the migration runs, add an AuthorizationPolicy for Server ${server.name} whose ` +
          "requiredAuthenticationRefs name a NetworkAuthentication covering the callers' pod networks (or set the " +
          "Server's spec.accessPolicy to all-unauthenticated), or migrate callers and callees together. Callers " +
          "that later join Linkerd are identified as <service-account>.<namespace>.serviceaccount.identity.linkerd." +
          "cluster.local (Istio: spiffe://cluster.local/ns/<namespace>/sa/<service-account>).",
      },
    ];
  });
}
