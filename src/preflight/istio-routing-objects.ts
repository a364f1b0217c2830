// Reading Istio's routing objects (VirtualService, DestinationRule) from plain JSON, and which
// namespace's Services their hosts name.
import { z } from "zod";
import { metadataSchema } from "./istio-attachment.ts";
import { type ObjectName, readAll } from "./policy-objects.ts";

const strings = z.array(z.string()).catch([]);

/** The gateway name that binds a VirtualService to sidecars (and is the default when gateways is unset). */
const MESH_GATEWAY = "mesh";

const virtualServiceSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z
    .looseObject({
      hosts: strings.optional(),
      gateways: strings.optional(),
      http: z.array(z.unknown()).catch([]).optional(),
    })
    .default({}),
});

const destinationRuleSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject({
    host: z.string(),
    subsets: z
      .array(z.looseObject({ name: z.string() }))
      .catch([])
      .optional(),
  }),
});

export interface VirtualServiceObject extends ObjectName {
  hosts: string[];
  /** Whether sidecars apply it: gateways unset, or listing "mesh". */
  boundToMesh: boolean;
  httpRoutes: number;
}

export interface DestinationRuleObject extends ObjectName {
  host: string;
  subsets: string[];
}

export function readVirtualServices(objects: readonly unknown[] | undefined): VirtualServiceObject[] {
  return readAll(objects, virtualServiceSchema, ({ metadata, spec }) => {
    const gateways = spec.gateways ?? [];
    return {
      namespace: metadata.namespace,
      name: metadata.name,
      hosts: spec.hosts ?? [],
      boundToMesh: gateways.length === 0 || gateways.includes(MESH_GATEWAY),
      httpRoutes: (spec.http ?? []).length,
    };
  });
}

export function readDestinationRules(objects: readonly unknown[] | undefined): DestinationRuleObject[] {
  return readAll(objects, destinationRuleSchema, ({ metadata, spec }) => ({
    namespace: metadata.namespace,
    name: metadata.name,
    host: spec.host,
    subsets: (spec.subsets ?? []).map((subset) => subset.name),
  }));
}

const SERVICE_HOST = /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\..+)?$/;

/**
 * The namespace whose Services a host names, as Istio resolves it: a short name ("reviews") is in
 * the object's own namespace; "reviews.shop.svc.cluster.local" and "*.shop.svc.cluster.local" are
 * in shop. Anything else (an external name, a bare wildcard) names no namespace we move.
 */
export function hostNamespace(host: string, objectNamespace: string): string | undefined {
  if (host !== "*" && !host.includes(".")) return objectNamespace;
  return SERVICE_HOST.exec(host)?.[3];
}
