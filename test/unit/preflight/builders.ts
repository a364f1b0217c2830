// Builders for preflight inputs: namespaces, workloads and mesh policy objects as the API returns them.
import type { Markers, MeshRef } from "../../../src/meshes/driver.ts";
import type { PreflightInput, PreflightWorkload } from "../../../src/preflight/index.ts";

export const ISTIO: MeshRef = { mesh: "istio" };
export const AMBIENT: MeshRef = { mesh: "istio-ambient" };
export const LINKERD: MeshRef = { mesh: "linkerd" };
export const NONE: MeshRef = { mesh: "none" };

export const ISTIO_NS = { labels: { "istio-injection": "enabled" }, annotations: {} };
export const LINKERD_NS = { labels: {}, annotations: { "linkerd.io/inject": "enabled" } };
export const UNMESHED_NS = { labels: {}, annotations: {} };

export function workload(
  namespace: string,
  name: string,
  overrides: Partial<PreflightWorkload> = {},
): PreflightWorkload {
  return {
    kind: "Deployment",
    namespace,
    name,
    template: { labels: { app: name }, annotations: {} },
    hostNetwork: false,
    ...overrides,
  };
}

export interface Scenario {
  source: MeshRef;
  target: MeshRef;
  /** Namespaces the migration moves, in one batch "wave-1" unless batches is given. */
  moving?: string[];
  batches?: Array<{ name: string; namespaces: string[] }>;
  namespaces: Record<string, Markers>;
  workloads?: PreflightWorkload[];
  policies?: PreflightInput["policies"];
  webhooks?: PreflightInput["webhooks"];
  linkerdDefaultInboundPolicy?: string;
}

export function preflightInput(scenario: Scenario): PreflightInput {
  const workloads = scenario.workloads ?? [];
  return {
    source: scenario.source,
    target: scenario.target,
    batches: scenario.batches ?? [{ name: "wave-1", namespaces: scenario.moving ?? [] }],
    namespaces: new Map(Object.entries(scenario.namespaces).map(([name, markers]) => [name, { markers }])),
    workloadsIn: (namespace) => workloads.filter((w) => w.namespace === namespace),
    policies: scenario.policies ?? {},
    webhooks: scenario.webhooks ?? [],
    linkerdDefaultInboundPolicy: scenario.linkerdDefaultInboundPolicy,
  };
}

function object(apiVersion: string, kind: string, namespace: string, name: string, spec: unknown) {
  return { apiVersion, kind, metadata: { namespace, name }, spec };
}

export function peerAuthentication(namespace: string, name: string, spec: unknown) {
  return object("security.istio.io/v1", "PeerAuthentication", namespace, name, spec);
}

export function istioAuthorizationPolicy(namespace: string, name: string, spec: unknown) {
  return object("security.istio.io/v1", "AuthorizationPolicy", namespace, name, spec);
}

export function server(namespace: string, name: string, spec: Record<string, unknown> = {}) {
  return object("policy.linkerd.io/v1beta3", "Server", namespace, name, {
    podSelector: { matchLabels: { app: name } },
    port: "http",
    ...spec,
  });
}

export function linkerdAuthorizationPolicy(
  namespace: string,
  name: string,
  targetRef: Record<string, string>,
  requiredAuthenticationRefs: Array<Record<string, string>>,
) {
  return object("policy.linkerd.io/v1alpha1", "AuthorizationPolicy", namespace, name, {
    targetRef,
    requiredAuthenticationRefs,
  });
}

export function meshTLSAuthentication(namespace: string, name: string, identities: string[]) {
  return object("policy.linkerd.io/v1alpha1", "MeshTLSAuthentication", namespace, name, { identities });
}

export function webhookConfiguration(name: string, failurePolicy: string) {
  return { metadata: { name }, webhooks: [{ name: `${name}.example.io`, failurePolicy }] };
}

export function codes(warnings: ReadonlyArray<{ code: string }>): string[] {
  return warnings.map((w) => w.code);
}
