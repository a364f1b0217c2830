// IstioAuthorizationPolicyPrincipals: AuthorizationPolicy rules on source principals or
// namespaces match only what Istio reads from an mTLS peer certificate. Callers that leave
// Istio arrive in plaintext, so those rules never match them again: an ALLOW stops letting
// them in, a DENY stops keeping them out.
import type { MigrationWarning } from "../api/schema.ts";
import { crossing, exposedNamespaces, listNames, movingNamespaces } from "./boundary.ts";
import { describeMeshRef } from "./describe.ts";
import {
  DEFAULT_TRUST_DOMAIN,
  identityMapping,
  istioPrincipal,
  istioStringMatches,
  parseIstioPrincipal,
  type ServiceAccountIdentity,
} from "./identity.ts";
import type { PreflightInput } from "./input.ts";
import { DEFAULT_ISTIO_ROOT_NAMESPACE } from "./istio-strict-mtls.ts";
import {
  type IstioAuthorizationPolicy,
  qualifiedName,
  readIstioAuthorizationPolicies,
} from "./policy-objects.ts";

/** The identities the moving workloads have in Istio today: one per service account in use. */
function movingIdentities(input: PreflightInput, namespaces: readonly string[]): ServiceAccountIdentity[] {
  const seen = new Map<string, ServiceAccountIdentity>();
  for (const namespace of namespaces) {
    for (const workload of input.workloadsIn(namespace)) {
      const identity = {
        trustDomain: DEFAULT_TRUST_DOMAIN,
        namespace,
        serviceAccount: workload.serviceAccountName ?? "default",
      };
      seen.set(istioPrincipal(identity), identity);
    }
  }
  return [...seen.values()];
}

interface Matched {
  principals: string[];
  namespaces: string[];
  identities: ServiceAccountIdentity[];
}

/** The policy's source principals and namespaces that name workloads the migration moves out. */
function matchMovingCallers(
  policy: IstioAuthorizationPolicy,
  moving: ReadonlySet<string>,
  identities: readonly ServiceAccountIdentity[],
): Matched {
  const matched: Matched = { principals: [], namespaces: [], identities: [] };
  const addIdentity = (identity: ServiceAccountIdentity) => {
    if (!matched.identities.some((known) => istioPrincipal(known) === istioPrincipal(identity))) {
      matched.identities.push(identity);
    }
  };
  for (const source of policy.sources) {
    for (const principal of source.principals) {
      const exact = parseIstioPrincipal(principal);
      const hits = exact
        ? moving.has(exact.namespace)
          ? [exact]
          : []
        : identities.filter((identity) => istioStringMatches(principal, istioPrincipal(identity)));
      if (hits.length === 0) continue;
      if (!matched.principals.includes(principal)) matched.principals.push(principal);
      hits.forEach(addIdentity);
    }
    for (const pattern of source.namespaces) {
      const hits = [...moving].filter((namespace) => istioStringMatches(pattern, namespace));
      if (hits.length === 0) continue;
      if (!matched.namespaces.includes(pattern)) matched.namespaces.push(pattern);
      identities.filter((identity) => hits.includes(identity.namespace)).forEach(addIdentity);
    }
  }
  return matched;
}

function message(input: PreflightInput, policy: IstioAuthorizationPolicy, matched: Matched, where: string) {
  const name = `AuthorizationPolicy ${qualifiedName(policy)}`;
  const rules = [
    matched.principals.length > 0 ? `principals ${listNames(matched.principals)}` : undefined,
    matched.namespaces.length > 0 ? `namespaces ${listNames(matched.namespaces)}` : undefined,
  ]
    .filter((part) => part !== undefined)
    .join(" and ");
  const callers = [...new Set(matched.identities.map((identity) => identity.namespace))];
  const target = describeMeshRef(input.target);
  const mapping =
    input.target.mesh === "linkerd"
      ? ` On Linkerd these callers are identified as: ${listNames(matched.identities.map(identityMapping), 5)}; ` +
        "name those identities in a MeshTLSAuthentication once their callees move to Linkerd too."
      : "";
  const head =
    `${name} (${policy.action}, ${where}) matches callers by source ${rules}, which Istio reads from the ` +
    `caller's mTLS certificate. Workloads in ${listNames(callers)} leave Istio for ${target} and then call in ` +
    "plaintext, with no Istio identity, so these rules never match them again";
  if (policy.action === "DENY") {
    return (
      `${head}: the DENY stops keeping them out. Fix: while callers and callees are on different meshes, ` +
      "refuse them another way (e.g. source.ipBlocks or a NetworkPolicy), or migrate callers and callees " +
      `together.${mapping}`
    );
  }
  return (
    `${head}: their calls are denied. Fix: while callers and callees are on different meshes, allow them another ` +
    "way (e.g. a rule on source.ipBlocks, or drop the identity condition for the duration), or migrate callers " +
    `and callees together in one batch.${mapping}`
  );
}

export function istioAuthorizationWarnings(input: PreflightInput): MigrationWarning[] {
  if (crossing("istio", input.source, input.target) !== "leaving") return [];
  const root = input.istioRootNamespace ?? DEFAULT_ISTIO_ROOT_NAMESPACE;
  const movingNames = movingNamespaces(input).map((ns) => ns.name);
  const moving = new Set(movingNames);
  const identities = movingIdentities(input, movingNames);
  // Policies are enforced by the callee's proxy: only callees still in Istio matter.
  const enforcedIn = new Map(exposedNamespaces("istio", input).map((ns) => [ns.name, ns.role]));

  return readIstioAuthorizationPolicies(input.policies.istioAuthorizationPolicies).flatMap((policy) => {
    if (policy.action !== "ALLOW" && policy.action !== "DENY") return [];
    const meshWide = policy.namespace === root;
    const role = enforcedIn.get(policy.namespace);
    if (!meshWide && role === undefined) return [];
    const matched = matchMovingCallers(policy, moving, identities);
    if (matched.principals.length === 0 && matched.namespaces.length === 0) return [];
    const where = meshWide ? "mesh-wide" : `namespace ${policy.namespace} ${role}`;
    return [
      {
        code: "IstioAuthorizationPolicyPrincipals",
        severity: "Warning" as const,
        namespace: meshWide ? undefined : policy.namespace,
        message: message(input, policy, matched, where),
      },
    ];
  });
}
