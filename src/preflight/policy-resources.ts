// The mesh policy resources the preflight reads, once for every reader: the operator watches
// them, the plan CLI lists them. A CRD that is not installed means no such objects.
import type { MeshName } from "../meshes/driver.ts";
import type { PolicyObjects } from "./input.ts";

export interface PolicyResource {
  /** Where the preflight expects the objects. */
  field: keyof PolicyObjects;
  group: string;
  version: string;
  plural: string;
  /**
   * The meshes whose migrations read it, as targets (and as sources, when forSources is set);
   * every migration's when both are unset.
   */
  forTargets?: readonly MeshName[];
  forSources?: readonly MeshName[];
}

const AMBIENT: readonly MeshName[] = ["istio-ambient"];
const CONSUL: readonly MeshName[] = ["consul"];

/** A Consul config entry CRD (consul.hashicorp.com/v1alpha1), read for moves into and out of Consul. */
function consulEntry(field: keyof PolicyObjects, plural: string): PolicyResource {
  return {
    field,
    group: "consul.hashicorp.com",
    version: "v1alpha1",
    plural,
    forTargets: CONSUL,
    forSources: CONSUL,
  };
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
  // What only a sidecar or a waypoint enforces, read for moves into Istio ambient.
  {
    field: "requestAuthentications",
    group: "security.istio.io",
    version: "v1",
    plural: "requestauthentications",
    forTargets: AMBIENT,
  },
  {
    field: "virtualServices",
    group: "networking.istio.io",
    version: "v1",
    plural: "virtualservices",
    forTargets: AMBIENT,
  },
  {
    field: "destinationRules",
    group: "networking.istio.io",
    version: "v1",
    plural: "destinationrules",
    forTargets: AMBIENT,
  },
  {
    field: "envoyFilters",
    group: "networking.istio.io",
    version: "v1alpha3",
    plural: "envoyfilters",
    forTargets: AMBIENT,
  },
  {
    field: "wasmPlugins",
    group: "extensions.istio.io",
    version: "v1alpha1",
    plural: "wasmplugins",
    forTargets: AMBIENT,
  },
  {
    field: "telemetries",
    group: "telemetry.istio.io",
    version: "v1",
    plural: "telemetries",
    forTargets: AMBIENT,
  },
  {
    field: "gateways",
    group: "gateway.networking.k8s.io",
    version: "v1",
    plural: "gateways",
    forTargets: AMBIENT,
  },
  // The core group (""): Services carry istio.io/use-waypoint, and name the services Consul registers.
  {
    field: "services",
    group: "",
    version: "v1",
    plural: "services",
    forTargets: [...AMBIENT, ...CONSUL],
    forSources: CONSUL,
  },
  // Consul's intentions, mTLS mode and transparent-proxy settings.
  consulEntry("serviceIntentions", "serviceintentions"),
  consulEntry("consulServiceDefaults", "servicedefaults"),
  consulEntry("consulProxyDefaults", "proxydefaults"),
  consulEntry("consulMeshes", "meshes"),
];

/** Whether a migration from `source` to `target` reads the resource. */
export function policyResourceReadFor(resource: PolicyResource, source: MeshName, target: MeshName): boolean {
  if (resource.forTargets === undefined && resource.forSources === undefined) return true;
  return resource.forTargets?.includes(target) === true || resource.forSources?.includes(source) === true;
}

/** The cluster-wide list/watch path of a policy resource (the core group is served under /api). */
export function policyResourcePath(resource: PolicyResource): string {
  if (resource.group === "") return `/api/${resource.version}/${resource.plural}`;
  return `/apis/${resource.group}/${resource.version}/${resource.plural}`;
}

/** "peerauthentications.security.istio.io", or "services" for the core group, for messages. */
export function policyResourceName(resource: PolicyResource): string {
  return resource.group === "" ? resource.plural : `${resource.plural}.${resource.group}`;
}
