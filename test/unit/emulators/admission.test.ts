// AdmissionReview plumbing: which requests carry a pod, and the JSONPatch we answer with.
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { allow, applyPodPatch, podPatch, podUnderReview } from "../../emulators/admission.ts";

const pod: V1Pod = { metadata: { name: "a" }, spec: { containers: [{ name: "app" }] } };

describe("podUnderReview", () => {
  const request = {
    uid: "1",
    kind: { group: "", version: "v1", kind: "Pod" },
    operation: "CREATE",
    object: pod,
  };
  it("returns the pod of a pod CREATE", () => {
    expect(podUnderReview(request)).toEqual(pod);
  });
  it.each([
    { ...request, operation: "UPDATE" },
    { ...request, kind: { group: "", version: "v1", kind: "Service" } },
    { ...request, object: undefined },
  ])("ignores anything else (%#)", (other) => {
    expect(podUnderReview(other)).toBeUndefined();
  });
});

describe("podPatch", () => {
  it("adds fields that were absent and replaces those that changed, nothing else", () => {
    const mutated: V1Pod = {
      metadata: { name: "a", labels: { x: "1" } },
      spec: { containers: [{ name: "app" }, { name: "proxy" }], initContainers: [{ name: "init" }] },
    };
    const patch = podPatch(pod, mutated);
    expect(patch.map((op) => [op.op, op.path]).sort()).toEqual([
      ["add", "/metadata/labels"],
      ["add", "/spec/initContainers"],
      ["replace", "/spec/containers"],
    ]);
    expect(applyPodPatch(pod, patch)).toEqual(mutated);
  });

  it("is empty when nothing changed, and then the response carries no patch", () => {
    expect(podPatch(pod, structuredClone(pod))).toEqual([]);
    expect(allow("u", [])).toEqual({ uid: "u", allowed: true });
  });

  it("encodes a patch as base64 JSON", () => {
    const response = allow("u", [{ op: "add", path: "/metadata/labels", value: { a: "b" } }]);
    expect(response.patchType).toBe("JSONPatch");
    expect(JSON.parse(Buffer.from(response.patch ?? "", "base64").toString())).toEqual([
      { op: "add", path: "/metadata/labels", value: { a: "b" } },
    ]);
  });
});
