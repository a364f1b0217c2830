// What a real apiserver checks on a write that the model must check too: the patch content type,
// label and annotation syntax, a workload's selector against its template, the CRD's structural
// pruning of unknown fields; and its errors, shaped like client-node's ApiException.
import { ApiException, type ConfigurationOptions, type V1LabelSelector } from "@kubernetes/client-node";
import type { JsonSchemaProps } from "../../src/api/structural.ts";
import { matchesLabelSelector } from "../emulators/label-selector.ts";
import { isJsonObject, type Json } from "./merge-patch.ts";

export const MERGE_PATCH_CONTENT_TYPE = "application/merge-patch+json";

/** An error as client-node throws it for a non-2xx answer: `code` is the HTTP status, `body` a Status. */
export function apiError(code: number, reason: string, message: string): ApiException<string> {
  const body = JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code });
  return new ApiException(code, message, body, { "content-type": "application/json" });
}

export function notFound(resource: string, name: string): ApiException<string> {
  return apiError(404, "NotFound", `${resource} "${name}" not found`);
}

export function conflict(resource: string, name: string): ApiException<string> {
  return apiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  );
}

export function invalid(kind: string, name: string, problems: readonly string[]): ApiException<string> {
  return apiError(422, "Invalid", `${kind} "${name}" is invalid: ${problems.join("; ")}`);
}

/** The Content-Type the call's options set, read by running their middleware on a stand-in request. */
export function contentTypeOf(options: ConfigurationOptions | undefined): string | undefined {
  const headers: Record<string, string> = {};
  const request = {
    setHeaderParam(key: string, value: string) {
      headers[key.toLowerCase()] = value;
    },
  };
  for (const middleware of options?.middleware ?? []) {
    (middleware as { pre?: (context: unknown) => unknown }).pre?.(request);
  }
  return headers["content-type"];
}

/** Only JSON merge patches are modelled; without the header client-node would send a JSON patch. */
export function requireMergePatch(options: ConfigurationOptions | undefined, what: string): void {
  const type = contentTypeOf(options);
  if (type !== MERGE_PATCH_CONTENT_TYPE) {
    throw apiError(
      415,
      "UnsupportedMediaType",
      `${what}: the model applies JSON merge patches only (Content-Type ${MERGE_PATCH_CONTENT_TYPE}); ` +
        `this call sent ${type ?? "client-node's default, application/json-patch+json"}`,
    );
  }
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** The apiserver's IsQualifiedName: `[prefix/]name`, prefix a DNS subdomain, name at most 63. */
function keyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `key "${key}": the prefix must be a DNS-1123 subdomain`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `key "${key}": the name part must be 63 characters or less, alphanumerics, '-', '_' or '.'`;
  }
  return undefined;
}

/** What the apiserver's ObjectMeta validation says about these maps (nothing when they are valid). */
export function metadataMapProblems(where: string, labels: unknown, annotations: unknown): string[] {
  const problems: string[] = [];
  for (const [field, map] of [
    ["labels", labels],
    ["annotations", annotations],
  ] as const) {
    if (map === undefined) continue;
    if (!isJsonObject(map)) {
      problems.push(`${where}.${field}: must be a map of strings`);
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      const keyIssue = keyProblem(field === "annotations" ? key.toLowerCase() : key);
      if (keyIssue) problems.push(`${where}.${field}: ${keyIssue}`);
      if (typeof value !== "string") {
        problems.push(`${where}.${field}["${key}"]: must be a string`);
      } else if (field === "labels" && (value.length > 63 || !LABEL_VALUE.test(value))) {
        problems.push(
          `${where}.labels["${key}"]: value "${value}" must be 63 characters or less, start and end with an alphanumeric`,
        );
      }
    }
    if (field === "annotations") {
      const bytes = Object.entries(map).reduce(
        (sum, [key, value]) => sum + key.length + (typeof value === "string" ? value.length : 0),
        0,
      );
      if (bytes > MAX_ANNOTATIONS_BYTES) problems.push(`${where}.annotations: may not exceed 256KiB`);
    }
  }
  return problems;
}

/** A workload's template must keep matching its selector (the apiserver rejects it otherwise). */
export function selectorProblems(
  selector: V1LabelSelector | undefined,
  templateLabels: Record<string, string> | undefined,
): string[] {
  if (!selector) return ["spec.selector: Required value"];
  return matchesLabelSelector(selector, templateLabels ?? {})
    ? []
    : ["spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"];
}

/** Structural pruning, as the apiserver does for a CRD: fields the schema does not name are dropped. */
export function prune(value: Json, schema: JsonSchemaProps | undefined): Json {
  if (!schema || schema["x-kubernetes-preserve-unknown-fields"]) return value;
  if (Array.isArray(value)) return schema.items ? value.map((item) => prune(item, schema.items)) : value;
  if (!isJsonObject(value)) return value;
  const { properties, additionalProperties } = schema;
  if (properties) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => Object.hasOwn(properties, key))
        .map(([key, child]) => [key, prune(child, properties[key])]),
    );
  }
  if (additionalProperties) {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [key, prune(child, additionalProperties)]),
    );
  }
  return {};
}
