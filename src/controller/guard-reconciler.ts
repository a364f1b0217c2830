// Keeps the double-mesh guard (policy and binding) installed and as the operator
// wants it: server-side applied with our field manager whenever the cached object
// is missing or its digest differs, and merge-patched back when someone edited it
// under our annotation.
import type * as k8s from "@kubernetes/client-node";
import { FIELD_MANAGER } from "../api/constants.ts";
import { mergePatchOptions, serverSideApplyOptions } from "../runtime/patch.ts";
import {
  GUARD_BINDING_NAME,
  GUARD_POLICY_NAME,
  GUARD_SPEC_ANNOTATION,
  type GuardKind,
  guardBinding,
  guardDrift,
  guardPolicy,
  guardRepairSpec,
  specDigest,
} from "./guard.ts";
import type { Cache } from "./reconciler.ts";

/** The work-queue key of the guard (never a MeshMigration name: those cannot contain ':'). */
export const GUARD_KEY = "guard:double-mesh";

export interface GuardCaches {
  policies: Cache<k8s.V1ValidatingAdmissionPolicy>;
  bindings: Cache<k8s.V1ValidatingAdmissionPolicyBinding>;
}

function withDigest<T extends { metadata?: k8s.V1ObjectMeta; spec?: unknown }>(object: T): T {
  return {
    ...object,
    metadata: { ...object.metadata, annotations: { [GUARD_SPEC_ANNOTATION]: specDigest(object.spec) } },
  };
}

interface GuardObjectApi {
  apply(body: k8s.KubernetesObject): Promise<unknown>;
  mergePatch(body: Record<string, unknown>): Promise<unknown>;
}

function guardApis(api: k8s.AdmissionregistrationV1Api): Record<GuardKind, GuardObjectApi> {
  const applyOptions = { fieldManager: FIELD_MANAGER, force: true };
  return {
    policy: {
      apply: (body) =>
        api.patchValidatingAdmissionPolicy(
          { name: GUARD_POLICY_NAME, body, ...applyOptions },
          serverSideApplyOptions(),
        ),
      mergePatch: (body) =>
        api.patchValidatingAdmissionPolicy(
          { name: GUARD_POLICY_NAME, body, fieldManager: FIELD_MANAGER },
          mergePatchOptions(),
        ),
    },
    binding: {
      apply: (body) =>
        api.patchValidatingAdmissionPolicyBinding(
          { name: GUARD_BINDING_NAME, body, ...applyOptions },
          serverSideApplyOptions(),
        ),
      mergePatch: (body) =>
        api.patchValidatingAdmissionPolicyBinding(
          { name: GUARD_BINDING_NAME, body, fieldManager: FIELD_MANAGER },
          mergePatchOptions(),
        ),
    },
  };
}

/** Puts one guard object back as we want it; returns whether it wrote. */
async function ensureGuardObject(
  kind: GuardKind,
  objectApi: GuardObjectApi,
  cached: (k8s.KubernetesObject & { spec?: unknown }) | undefined,
  desired: k8s.KubernetesObject & { spec?: unknown },
): Promise<boolean> {
  const drift = guardDrift(kind, cached, desired);
  if (drift === undefined) return false;
  if (drift === "edited") {
    // Planned from this resourceVersion: a concurrent edit fails with a conflict and is re-planned.
    await objectApi.mergePatch({
      metadata: {
        resourceVersion: cached?.metadata?.resourceVersion,
        annotations: { [GUARD_SPEC_ANNOTATION]: specDigest(desired.spec) },
      },
      spec: guardRepairSpec(kind, desired),
    });
  } else {
    await objectApi.apply(withDigest(desired));
  }
  return true;
}

export async function ensureGuard(
  api: k8s.AdmissionregistrationV1Api,
  caches: GuardCaches,
): Promise<boolean> {
  const apis = guardApis(api);
  const policy = await ensureGuardObject(
    "policy",
    apis.policy,
    caches.policies.get(GUARD_POLICY_NAME),
    guardPolicy(),
  );
  const binding = await ensureGuardObject(
    "binding",
    apis.binding,
    caches.bindings.get(GUARD_BINDING_NAME),
    guardBinding(),
  );
  return policy || binding;
}
