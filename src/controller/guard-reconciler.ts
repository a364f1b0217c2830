// Keeps the double-mesh guard (policy and binding) installed and as the operator
// wants it: server-side applied with our field manager whenever the cached object
// is missing or its digest differs.
import type * as k8s from "@kubernetes/client-node";
import { FIELD_MANAGER } from "../api/constants.ts";
import { serverSideApplyOptions } from "../runtime/patch.ts";
import {
  GUARD_BINDING_NAME,
  GUARD_POLICY_NAME,
  GUARD_SPEC_ANNOTATION,
  guardBinding,
  guardNeedsApply,
  guardPolicy,
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

export async function ensureGuard(
  api: k8s.AdmissionregistrationV1Api,
  caches: GuardCaches,
): Promise<boolean> {
  let applied = false;
  const policy = guardPolicy();
  if (guardNeedsApply(caches.policies.get(GUARD_POLICY_NAME), policy)) {
    await api.patchValidatingAdmissionPolicy(
      { name: GUARD_POLICY_NAME, body: withDigest(policy), fieldManager: FIELD_MANAGER, force: true },
      serverSideApplyOptions(),
    );
    applied = true;
  }
  const binding = guardBinding();
  if (guardNeedsApply(caches.bindings.get(GUARD_BINDING_NAME), binding)) {
    await api.patchValidatingAdmissionPolicyBinding(
      { name: GUARD_BINDING_NAME, body: withDigest(binding), fieldManager: FIELD_MANAGER, force: true },
      serverSideApplyOptions(),
    );
    applied = true;
  }
  return applied;
}
