// Reading the Istio objects whose work a sidecar does and ztunnel cannot (it sees TCP, not HTTP):
// AuthorizationPolicy's HTTP attributes, RequestAuthentication, WasmPlugin, Telemetry and
// EnvoyFilter, from plain JSON. An object we cannot read is skipped, as in policy-objects.ts.
import { z } from "zod";
import {
  type AttachedObject,
  attachmentFields,
  attachmentOf,
  metadataSchema,
  type TargetRef,
} from "./istio-attachment.ts";

import { readAll } from "./policy-objects.ts";

const strings = z.array(z.string()).catch([]);

type AttachmentSpec = {
  selector?: { matchLabels?: Record<string, string> | undefined } | undefined;
  targetRef?: TargetRef | undefined;
  targetRefs?: TargetRef[] | undefined;
};

function attached(meta: z.output<typeof metadataSchema>, spec: AttachmentSpec): AttachedObject {
  return {
    namespace: meta.namespace,
    name: meta.name,
    attachment: attachmentOf(spec.selector?.matchLabels, spec),
  };
}

// --- AuthorizationPolicy -----------------------------------------------------------------------

/** The operation fields ztunnel cannot match (ports and notPorts are L4, and it matches those). */
const HTTP_OPERATION_FIELDS = ["hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"] as const;
/** The source fields that need the HTTP request (a JWT, X-Forwarded-For). */
const HTTP_SOURCE_FIELDS = [
  "requestPrincipals",
  "notRequestPrincipals",
  "remoteIpBlocks",
  "notRemoteIpBlocks",
] as const;
/** The only condition keys ztunnel evaluates (Istio's l4WhenAttributes); every other key is HTTP. */
const L4_CONDITION_KEYS: ReadonlySet<string> = new Set([
  "source.ip",
  "source.namespace",
  "source.principal",
  "destination.ip",
  "destination.port",
]);

const authorizationPolicySchema = z.looseObject({
  metadata: metadataSchema,
  spec: z
    .looseObject({
      ...attachmentFields,
      action: z.string().optional(),
      rules: z
        .array(
          z.looseObject({
            from: z
              .array(
                z.looseObject({
                  source: z
                    .looseObject(Object.fromEntries(HTTP_SOURCE_FIELDS.map((f) => [f, strings.optional()])))
                    .optional(),
                }),
              )
              .optional(),
            to: z
              .array(
                z.looseObject({
                  operation: z
                    .looseObject(
                      Object.fromEntries(HTTP_OPERATION_FIELDS.map((f) => [f, strings.optional()])),
                    )
                    .optional(),
                }),
              )
              .optional(),
            when: z.array(z.looseObject({ key: z.string() })).optional(),
          }),
        )
        .optional(),
    })
    .default({}),
});

type PolicyRule = NonNullable<z.output<typeof authorizationPolicySchema>["spec"]["rules"]>[number];

export interface AuthorizationPolicyL7 extends AttachedObject {
  /** ALLOW (the default), DENY, CUSTOM or AUDIT. */
  action: string;
  /** How many rules the policy has. */
  rules: number;
  /** How many of them match on something ztunnel cannot read. */
  httpRules: number;
  /** What they match on, e.g. "to.operation.methods", "when request.headers[x-user]". */
  httpAttributes: string[];
}

function nonEmpty(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

/** The HTTP attributes one rule matches on, named as in the policy. */
function httpAttributesOf(rule: PolicyRule): string[] {
  const found = new Set<string>();
  for (const { operation } of rule.to ?? []) {
    for (const field of HTTP_OPERATION_FIELDS)
      if (nonEmpty(operation?.[field])) found.add(`to.operation.${field}`);
  }
  for (const { source } of rule.from ?? []) {
    for (const field of HTTP_SOURCE_FIELDS) if (nonEmpty(source?.[field])) found.add(`from.source.${field}`);
  }
  for (const { key } of rule.when ?? []) if (!L4_CONDITION_KEYS.has(key)) found.add(`when ${key}`);
  return [...found];
}

export function readAuthorizationPoliciesL7(
  objects: readonly unknown[] | undefined,
): AuthorizationPolicyL7[] {
  return readAll(objects, authorizationPolicySchema, ({ metadata, spec }) => {
    const perRule = (spec.rules ?? []).map(httpAttributesOf);
    return {
      ...attached(metadata, spec),
      action: (spec.action ?? "ALLOW").toUpperCase(),
      rules: perRule.length,
      httpRules: perRule.filter((attributes) => attributes.length > 0).length,
      httpAttributes: [...new Set(perRule.flat())],
    };
  });
}

// --- RequestAuthentication, WasmPlugin --------------------------------------------------------

const attachableSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z.looseObject(attachmentFields).default({}),
});

export function readAttachedObjects(objects: readonly unknown[] | undefined): AttachedObject[] {
  return readAll(objects, attachableSchema, ({ metadata, spec }) => attached(metadata, spec));
}

// --- Telemetry ---------------------------------------------------------------------------------

/** Istio's standard metrics that only an HTTP-aware proxy produces (ztunnel reports the TCP ones). */
const TCP_METRICS: ReadonlySet<string> = new Set([
  "TCP_OPENED_CONNECTIONS",
  "TCP_CLOSED_CONNECTIONS",
  "TCP_SENT_BYTES",
  "TCP_RECEIVED_BYTES",
]);

const telemetrySchema = z.looseObject({
  metadata: metadataSchema,
  spec: z
    .looseObject({
      ...attachmentFields,
      tracing: z.array(z.unknown()).optional(),
      accessLogging: z.array(z.unknown()).optional(),
      metrics: z
        .array(
          z.looseObject({
            overrides: z
              .array(
                z.looseObject({
                  match: z
                    .looseObject({ metric: z.string().optional(), customMetric: z.string().optional() })
                    .optional(),
                }),
              )
              .optional(),
          }),
        )
        .optional(),
    })
    .default({}),
});

export interface TelemetryL7 extends AttachedObject {
  /** Its settings that need an HTTP-aware proxy: "tracing", "access logging", "HTTP metrics". */
  httpSettings: string[];
}

type Override = NonNullable<
  NonNullable<z.output<typeof telemetrySchema>["spec"]["metrics"]>[number]["overrides"]
>[number];

/** An override with no metric means ALL_METRICS; a custom metric is Envoy's, so HTTP-aware too. */
function overridesHttpMetrics(override: Override): boolean {
  const metric = override.match?.metric;
  return override.match?.customMetric !== undefined || metric === undefined || !TCP_METRICS.has(metric);
}

export function readTelemetries(objects: readonly unknown[] | undefined): TelemetryL7[] {
  return readAll(objects, telemetrySchema, ({ metadata, spec }) => ({
    ...attached(metadata, spec),
    httpSettings: [
      nonEmpty(spec.tracing) ? "tracing" : undefined,
      nonEmpty(spec.accessLogging) ? "access logging" : undefined,
      (spec.metrics ?? []).some((m) => (m.overrides ?? []).some(overridesHttpMetrics))
        ? "HTTP metrics"
        : undefined,
    ].filter((setting) => setting !== undefined),
  }));
}

// --- EnvoyFilter -------------------------------------------------------------------------------

const envoyFilterSchema = z.looseObject({
  metadata: metadataSchema,
  spec: z
    .looseObject({
      workloadSelector: z.looseObject({ labels: z.record(z.string(), z.string()).optional() }).optional(),
      targetRefs: attachmentFields.targetRefs,
      configPatches: z
        .array(
          z.looseObject({
            applyTo: z.string().optional(),
            match: z.looseObject({ context: z.string().optional() }).optional(),
          }),
        )
        .optional(),
    })
    .default({}),
});

export interface EnvoyFilterObject extends AttachedObject {
  /** What its patches that reach sidecars change (applyTo), e.g. HTTP_FILTER; empty when it patches gateways only. */
  sidecarPatches: string[];
}

export function readEnvoyFilters(objects: readonly unknown[] | undefined): EnvoyFilterObject[] {
  return readAll(objects, envoyFilterSchema, ({ metadata, spec }) => ({
    namespace: metadata.namespace,
    name: metadata.name,
    attachment: attachmentOf(spec.workloadSelector?.labels, spec),
    sidecarPatches: [
      ...new Set(
        (spec.configPatches ?? [])
          // A patch with no context matches ANY proxy, sidecars included.
          .filter((patch) => patch.match?.context?.toUpperCase() !== "GATEWAY")
          .map((patch) => patch.applyTo ?? "?"),
      ),
    ],
  }));
}
