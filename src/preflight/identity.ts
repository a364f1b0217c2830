// Workload identities in both meshes. Istio names a workload by its SPIFFE ID
// spiffe://<trust-domain>/ns/<namespace>/sa/<service-account> (written in AuthorizationPolicy
// principals without the scheme); Linkerd by <sa>.<ns>.serviceaccount.identity.linkerd.<trust-domain>.

export const DEFAULT_TRUST_DOMAIN = "cluster.local";

export interface ServiceAccountIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** Reads "cluster.local/ns/N/sa/S" (or its spiffe:// form); undefined for anything else, wildcards included. */
export function parseIstioPrincipal(principal: string): ServiceAccountIdentity | undefined {
  const match = /^(?:spiffe:\/\/)?([^/*]+)\/ns\/([^/*]+)\/sa\/([^/*]+)$/.exec(principal);
  if (!match) return undefined;
  return {
    trustDomain: match[1] as string,
    namespace: match[2] as string,
    serviceAccount: match[3] as string,
  };
}

export function istioPrincipal(identity: ServiceAccountIdentity): string {
  return `${identity.trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccount}`;
}

export function linkerdIdentity(identity: ServiceAccountIdentity): string {
  return `${identity.serviceAccount}.${identity.namespace}.serviceaccount.identity.linkerd.${identity.trustDomain}`;
}

/** "spiffe://cluster.local/ns/N/sa/S ↔ S.N.serviceaccount.identity.linkerd.cluster.local" */
export function identityMapping(identity: ServiceAccountIdentity): string {
  return `spiffe://${istioPrincipal(identity)} ↔ ${linkerdIdentity(identity)}`;
}

/**
 * Istio's string match for principals and namespaces: exact, "*" (anything non-empty),
 * "prefix*" or "*suffix".
 */
export function istioStringMatches(pattern: string, value: string): boolean {
  if (pattern === "*") return value !== "";
  if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
  return pattern === value;
}
