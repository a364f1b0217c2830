// The mesh policy resources the preflight reads, once for every reader: the operator watches
// them, the plan CLI lists them. A CRD that is not installed means no such objects.
import type { PolicyObjects } from "./input.ts";

export interface PolicyResource {
  /** Where the preflight expects the objects. */
  field: keyof PolicyObjects;
  group: string;
  version: string;
  plural: string;
}

export const POLICY_RESOURCES: readonly PolicyResource[] = [
  { field: "peerAuthentications", group: "security.istio.io", version: "v1", plural: "peerauthentications" },
  {
    field: "istioAuthorizationPolicies",
    group: "security.istio.io",
    version: "v1",
    plural: "authorizationpolicies",
  },
  { field: "linkerdServers", group: "policy.linkerd.io", version: "v1beta3", plural: "servers" },
  {
    field: "linkerdAuthorizationPolicies",
    group: "policy.linkerd.io",
    version: "v1alpha1",
    plural: "authorizationpolicies",
  },
  {
    field: "meshTLSAuthentications",
    group: "policy.linkerd.io",
    version: "v1alpha1",
    plural: "meshtlsauthentications",
  },
];

/** The cluster-wide list/watch path of a policy resource. */
export function policyResourcePath(resource: PolicyResource): string {
  return `/apis/${resource.group}/${resource.version}/${resource.plural}`;
}
