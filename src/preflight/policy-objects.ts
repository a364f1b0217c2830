// Reading Istio and Linkerd policy objects from plain JSON. Their CRDs belong to the meshes, so
// an object we cannot read is skipped rather than trusted; fields we do not need are ignored.
import { z } from "zod";
import type { LabelSelector } from "../api/label-selector.ts";

const stringMap = z.record(z.string(), z.string());
const strings = z.array(z.string()).catch([]);

const metadata = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().default(""),
  creationTimestamp: z.string().optional(),
});

const labelSelector = z
  .looseObject({
    matchLabels: stringMap.optional(),
    matchExpressions: z
      .array(
        z.looseObject({
          key: z.string(),
          operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
          values: z.array(z.string()).optional(),
        }),
      )
      .optional(),
  })
  .optional();

const modeSetting = z.looseObject({ mode: z.string().optional() }).optional();

const peerAuthenticationSchema = z.looseObject({
  metadata,
  spec: z
    .looseObject({
      selector: labelSelector,
      mtls: modeSetting,
      portLevelMtls: z.record(z.string(), z.looseObject({ mode: z.string().optional() })).optional(),
    })
    .default({}),
});

const istioAuthorizationPolicySchema = z.looseObject({
  metadata,
  spec: z
    .looseObject({
      selector: labelSelector,
      action: z.string().optional(),
      rules: z
        .array(
          z.looseObject({
            from: z
              .array(
                z.looseObject({
                  source: z
                    .looseObject({ principals: strings.optional(), namespaces: strings.optional() })
                    .default({}),
                }),
              )
              .optional(),
          }),
        )
        .optional(),
    })
    .default({}),
});

const reference = z.looseObject({
  group: z.string().optional(),
  kind: z.string(),
  name: z.string().optional(),
  namespace: z.string().optional(),
});

const serverSchema = z.looseObject({
  metadata,
  spec: z.looseObject({
    port: z.union([z.string(), z.number()]).optional(),
    accessPolicy: z.string().optional(),
    podSelector: labelSelector,
  }),
});

const linkerdAuthorizationPolicySchema = z.looseObject({
  metadata,
  spec: z.looseObject({
    targetRef: reference,
    requiredAuthenticationRefs: z.array(reference).default([]),
  }),
});

const meshTLSAuthenticationSchema = z.looseObject({
  metadata,
  spec: z.looseObject({
    identities: strings.optional(),
    identityRefs: z.array(reference).optional(),
  }),
});

export interface ObjectName {
  namespace: string;
  name: string;
}

export interface PeerAuthentication extends ObjectName {
  creationTimestamp: string | undefined;
  /** Absent or empty: the policy covers its whole namespace (or the mesh, in the root namespace). */
  selector: LabelSelector | undefined;
  /** STRICT, PERMISSIVE, DISABLE, UNSET, or undefined (inherit). */
  mode: string | undefined;
  /** Ports that portLevelMtls sets to STRICT. */
  strictPorts: string[];
}

export interface IstioAuthorizationPolicy extends ObjectName {
  selector: LabelSelector | undefined;
  /** ALLOW (the default), DENY, AUDIT or CUSTOM. */
  action: string;
  /** Every rules[].from[].source, flattened. */
  sources: Array<{ principals: string[]; namespaces: string[] }>;
}

export interface LinkerdServer extends ObjectName {
  port: string;
  /** What traffic that no AuthorizationPolicy allows gets (v1beta3 default: deny). */
  accessPolicy: string;
}

export interface Reference {
  group: string;
  kind: string;
  name: string | undefined;
  namespace: string | undefined;
}

export interface LinkerdAuthorizationPolicy extends ObjectName {
  target: Reference;
  requiredAuthentications: Reference[];
}

export interface MeshTLSAuthentication extends ObjectName {
  identities: string[];
  identityRefs: Reference[];
}

export function readAll<S extends z.ZodType, T>(
  objects: readonly unknown[] | undefined,
  schema: S,
  read: (parsed: z.output<S>) => T,
): T[] {
  return (objects ?? []).flatMap((object) => {
    const parsed = schema.safeParse(object);
    return parsed.success ? [read(parsed.data)] : [];
  });
}

function selectorOf(selector: z.output<typeof labelSelector>): LabelSelector | undefined {
  if (!selector) return undefined;
  const empty =
    Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
  return empty
    ? undefined
    : { matchLabels: selector.matchLabels, matchExpressions: selector.matchExpressions };
}

function referenceOf(ref: z.output<typeof reference>): Reference {
  return { group: ref.group ?? "", kind: ref.kind, name: ref.name, namespace: ref.namespace };
}

export function readPeerAuthentications(objects: readonly unknown[] | undefined): PeerAuthentication[] {
  return readAll(objects, peerAuthenticationSchema, ({ metadata: meta, spec }) => ({
    namespace: meta.namespace,
    name: meta.name,
    creationTimestamp: meta.creationTimestamp,
    selector: selectorOf(spec.selector),
    mode: spec.mtls?.mode?.toUpperCase(),
    strictPorts: Object.entries(spec.portLevelMtls ?? {})
      .filter(([, setting]) => setting.mode?.toUpperCase() === "STRICT")
      .map(([port]) => port),
  }));
}

export function readIstioAuthorizationPolicies(
  objects: readonly unknown[] | undefined,
): IstioAuthorizationPolicy[] {
  return readAll(objects, istioAuthorizationPolicySchema, ({ metadata: meta, spec }) => ({
    namespace: meta.namespace,
    name: meta.name,
    selector: selectorOf(spec.selector),
    action: (spec.action ?? "ALLOW").toUpperCase(),
    sources: (spec.rules ?? []).flatMap((rule) =>
      (rule.from ?? []).map(({ source }) => ({
        principals: source.principals ?? [],
        namespaces: source.namespaces ?? [],
      })),
    ),
  }));
}

export function readLinkerdServers(objects: readonly unknown[] | undefined): LinkerdServer[] {
  return readAll(objects, serverSchema, ({ metadata: meta, spec }) => ({
    namespace: meta.namespace,
    name: meta.name,
    port: spec.port === undefined ? "?" : String(spec.port),
    accessPolicy: spec.accessPolicy ?? "deny",
  }));
}

export function readLinkerdAuthorizationPolicies(
  objects: readonly unknown[] | undefined,
): LinkerdAuthorizationPolicy[] {
  return readAll(objects, linkerdAuthorizationPolicySchema, ({ metadata: meta, spec }) => ({
    namespace: meta.namespace,
    name: meta.name,
    target: referenceOf(spec.targetRef),
    requiredAuthentications: spec.requiredAuthenticationRefs.map(referenceOf),
  }));
}

export function readMeshTLSAuthentications(objects: readonly unknown[] | undefined): MeshTLSAuthentication[] {
  return readAll(objects, meshTLSAuthenticationSchema, ({ metadata: meta, spec }) => ({
    namespace: meta.namespace,
    name: meta.name,
    identities: spec.identities ?? [],
    identityRefs: (spec.identityRefs ?? []).map(referenceOf),
  }));
}

export function qualifiedName(object: ObjectName): string {
  return object.namespace ? `${object.namespace}/${object.name}` : object.name;
}
