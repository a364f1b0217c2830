// Reading Consul's config-entry CRDs (consul.hashicorp.com/v1alpha1) from plain JSON, as
// policy-objects.ts reads Istio's and Linkerd's, and the Consul service names of a namespace.
// Field names are consul-k8s's own
// (control-plane/api/v1alpha1/*_types.go in the vendored source); an object we cannot read is
// skipped. Consul Enterprise namespaces and partitions, peers and sameness groups are not matched:
// services are matched by name, as Consul CE registers them.
import { z } from "zod";
import { CONNECT_SERVICE_ANNOTATION } from "../meshes/consul.ts";
import type { PreflightInput } from "./input.ts";
import { readAll } from "./policy-objects.ts";

const metadata = z.looseObject({ name: z.string().min(1), namespace: z.string().default("") });

const intentionSource = z.looseObject({
  name: z.string().default(""),
  action: z.string().optional(),
  permissions: z.array(z.unknown()).optional(),
  peer: z.string().optional(),
  partition: z.string().optional(),
  samenessGroup: z.string().optional(),
});

const serviceIntentionsSchema = z.looseObject({
  metadata,
  spec: z
    .looseObject({
      destination: z.looseObject({ name: z.string().default("") }).default({ name: "" }),
      sources: z.array(intentionSource).catch([]).default([]),
    })
    .default({ destination: { name: "" }, sources: [] }),
});

const mutualTLSModeSchema = z.looseObject({
  metadata,
  spec: z.looseObject({ mutualTLSMode: z.string().optional() }).default({}),
});

const meshSchema = z.looseObject({
  metadata,
  spec: z
    .looseObject({
      transparentProxy: z.looseObject({ meshDestinationsOnly: z.boolean().optional() }).optional(),
      allowEnablingPermissiveMutualTLS: z.boolean().optional(),
    })
    .default({}),
});

export interface IntentionSource {
  /** A Consul service name, or "*". */
  name: string;
  /** allow or deny; an L7 source (permissions) counts as allow for some requests. */
  allows: boolean;
  denies: boolean;
}

export interface ServiceIntentions {
  namespace: string;
  name: string;
  /** The destination service's name, or "*". */
  destination: string;
  /** Sources in this cluster (peers, partitions and sameness groups left out). */
  sources: IntentionSource[];
}

export interface MutualTLSSetting {
  namespace: string;
  /** The service's name (ServiceDefaults), or "global" (ProxyDefaults). */
  name: string;
  mode: "strict" | "permissive";
}

export interface ConsulMeshConfig {
  namespace: string;
  name: string;
  meshDestinationsOnly: boolean;
  allowEnablingPermissiveMutualTLS: boolean;
}

export function readServiceIntentions(objects: readonly unknown[] | undefined): ServiceIntentions[] {
  return readAll(objects, serviceIntentionsSchema, ({ metadata: meta, spec }) => ({
    namespace: meta.namespace,
    name: meta.name,
    destination: spec.destination.name,
    sources: spec.sources
      .filter((source) => !source.peer && !source.partition && !source.samenessGroup && source.name !== "")
      .map((source) => {
        const action = source.action?.toLowerCase();
        return {
          name: source.name,
          allows: action === "allow" || (action === undefined && (source.permissions ?? []).length > 0),
          denies: action === "deny",
        };
      }),
  }));
}

/** ServiceDefaults and ProxyDefaults: the mTLS mode they set, when they set one. */
export function readMutualTLSSettings(objects: readonly unknown[] | undefined): MutualTLSSetting[] {
  const settings = readAll(objects, mutualTLSModeSchema, ({ metadata: meta, spec }) => ({
    namespace: meta.namespace,
    name: meta.name,
    mode: spec.mutualTLSMode?.toLowerCase(),
  }));
  return settings.filter(
    (setting): setting is MutualTLSSetting => setting.mode === "strict" || setting.mode === "permissive",
  );
}

export function readConsulMeshConfigs(objects: readonly unknown[] | undefined): ConsulMeshConfig[] {
  return readAll(objects, meshSchema, ({ metadata: meta, spec }) => ({
    namespace: meta.namespace,
    name: meta.name,
    meshDestinationsOnly: spec.transparentProxy?.meshDestinationsOnly === true,
    allowEnablingPermissiveMutualTLS: spec.allowEnablingPermissiveMutualTLS === true,
  }));
}

const serviceSchema = z.looseObject({ metadata });

/**
 * The Consul service names the namespace's pods register as: its Services' names (consul-k8s
 * registers each Service that selects an injected pod) and the names its pod templates give in
 * consul.hashicorp.com/connect-service (comma-separated on multi-port pods).
 */
export function consulServiceNames(input: PreflightInput, namespace: string): string[] {
  const services = readAll(input.policies.services, serviceSchema, ({ metadata: meta }) => meta)
    .filter((meta) => meta.namespace === namespace && meta.name !== "kubernetes")
    .map((meta) => meta.name);
  const annotated = input
    .workloadsIn(namespace)
    .flatMap((workload) => (workload.template.annotations[CONNECT_SERVICE_ANNOTATION] ?? "").split(","))
    .map((name) => name.trim())
    .filter((name) => name !== "");
  return [...new Set([...services, ...annotated])].sort();
}
