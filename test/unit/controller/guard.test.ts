// The guard is repaired on any drift that matters, not only when its digest annotation changes.
import { describe, expect, it } from "vitest";
import {
  contains,
  GUARD_SPEC_ANNOTATION,
  guardBinding,
  guardDrift,
  guardPolicy,
  guardRepairSpec,
  specDigest,
} from "../../../src/controller/guard.ts";

function asApplied<T extends { metadata?: object; spec?: unknown }>(
  desired: T,
  spec: unknown = desired.spec,
) {
  return {
    ...desired,
    metadata: { ...desired.metadata, annotations: { [GUARD_SPEC_ANNOTATION]: specDigest(desired.spec) } },
    spec,
  };
}

describe("guardDrift", () => {
  const binding = guardBinding();
  const policy = guardPolicy();

  it("leaves the guard alone as applied, server defaults included", () => {
    const withDefaults = {
      ...(binding.spec as object),
      matchResources: { ...binding.spec?.matchResources, matchPolicy: "Equivalent", objectSelector: {} },
    };
    expect(guardDrift("binding", asApplied(binding, withDefaults), binding)).toBeUndefined();
    expect(guardDrift("policy", asApplied(policy), policy)).toBeUndefined();
  });

  it("re-applies a missing guard, a stale digest, and a spec edited under a kept annotation", () => {
    expect(guardDrift("binding", undefined, binding)).toBe("missing");
    const unannotated = { ...asApplied(binding), metadata: { annotations: {} } };
    expect(guardDrift("binding", unannotated, binding)).toBe("stale");
    const warnOnly = { ...binding.spec, validationActions: ["Warn"] };
    expect(guardDrift("binding", asApplied(binding, warnOnly), binding)).toBe("edited");
    const fewerRules = { ...policy.spec, validations: policy.spec?.validations?.slice(0, 1) };
    expect(guardDrift("policy", asApplied(policy, fewerRules), policy)).toBe("edited");
    const failOpen = { ...policy.spec, failurePolicy: "Ignore" };
    expect(guardDrift("policy", asApplied(policy, failOpen), policy)).toBe("edited");
    const narrowed = { ...policy.spec, matchConditions: [{ name: "never", expression: "false" }] };
    expect(guardDrift("policy", asApplied(policy, narrowed), policy)).toBe("edited");
  });

  it("repairs with our whole lists and the narrowing fields removed", () => {
    const repair = guardRepairSpec("binding", binding);
    expect(repair.validationActions).toEqual(["Deny"]);
    expect(repair.paramRef).toBeNull();
    expect((repair.matchResources as Record<string, unknown>).excludeResourceRules).toBeNull();
    expect(guardRepairSpec("policy", policy).matchConditions).toBeNull();
  });
});

describe("contains", () => {
  it("compares scalars, objects by desired keys, and arrays element by element", () => {
    expect(contains({ a: 1, b: 2 }, { a: 1 })).toBe(true);
    expect(contains({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(contains([{ a: 1, x: 0 }], [{ a: 1 }])).toBe(true);
    expect(contains([1, 2], [1])).toBe(false);
    expect(contains(undefined, { a: 1 })).toBe(false);
    expect(contains("Deny", "Deny")).toBe(true);
  });
});
