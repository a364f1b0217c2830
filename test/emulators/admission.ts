// AdmissionReview v1 shapes and the JSONPatch an injector answers with.
import { isDeepStrictEqual } from "node:util";
import type { V1Pod } from "@kubernetes/client-node";

export interface AdmissionRequest {
  uid: string;
  kind?: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  namespace?: string;
  operation?: string;
  dryRun?: boolean;
  object?: unknown;
}

export interface AdmissionReview {
  apiVersion: string;
  kind: string;
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: "JSONPatch";
  /** base64 of the JSON patch document. */
  patch?: string;
  status?: { code?: number; message?: string };
  warnings?: string[];
}

export interface JsonPatchOperation {
  op: "add" | "replace" | "remove";
  path: string;
  value?: unknown;
}

/** The parts of a pod an injector may change; each is replaced whole when it changed. */
const MUTABLE_POD_FIELDS: ReadonlyArray<readonly ["metadata" | "spec", string]> = [
  ["metadata", "labels"],
  ["metadata", "annotations"],
  ["spec", "initContainers"],
  ["spec", "containers"],
  ["spec", "volumes"],
];

/** A JSONPatch turning `original` into `mutated`, touching only the fields injectors change. */
export function podPatch(original: V1Pod, mutated: V1Pod): JsonPatchOperation[] {
  const operations: JsonPatchOperation[] = [];
  for (const [section, field] of MUTABLE_POD_FIELDS) {
    const before = (original[section] as Record<string, unknown> | undefined)?.[field];
    const after = (mutated[section] as Record<string, unknown> | undefined)?.[field];
    if (isDeepStrictEqual(before, after)) continue;
    const path = `/${section}/${field}`;
    if (after === undefined) operations.push({ op: "remove", path });
    else operations.push({ op: before === undefined ? "add" : "replace", path, value: after });
  }
  return operations;
}

export function allow(uid: string, patch?: JsonPatchOperation[], warnings?: string[]): AdmissionResponse {
  const response: AdmissionResponse = { uid, allowed: true };
  if (patch && patch.length > 0) {
    response.patchType = "JSONPatch";
    response.patch = Buffer.from(JSON.stringify(patch)).toString("base64");
  }
  if (warnings && warnings.length > 0) response.warnings = warnings;
  return response;
}

export function reviewResponse(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}

/** The pod under review, if the request is a pod CREATE; anything else is let through untouched. */
export function podUnderReview(request: AdmissionRequest): V1Pod | undefined {
  if (request.operation !== "CREATE") return undefined;
  if (request.kind?.kind !== "Pod" || request.kind.group !== "") return undefined;
  const pod = request.object as V1Pod | undefined;
  if (!pod || typeof pod !== "object") return undefined;
  return pod;
}

/** Applies the operations podPatch produces; for tests and for logging what a patch does. */
export function applyPodPatch(pod: V1Pod, operations: readonly JsonPatchOperation[]): V1Pod {
  const result = structuredClone(pod) as unknown as Record<string, Record<string, unknown>>;
  for (const operation of operations) {
    const [, section, field] = operation.path.split("/");
    if (!section || !field) throw new Error(`unsupported patch path ${operation.path}`);
    result[section] ??= {};
    const target = result[section];
    if (operation.op === "remove") delete target[field];
    else target[field] = structuredClone(operation.value);
  }
  return result as unknown as V1Pod;
}
