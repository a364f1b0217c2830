// Which workload owns a pod at admission.
import { describe, expect, it } from "vitest";
import { podWorkload } from "../../emulators/workload.ts";

const owner = (kind: string, name: string) => [
  { apiVersion: "apps/v1", kind, name, uid: "u", controller: true },
];

describe("podWorkload", () => {
  it("finds the Deployment behind a ReplicaSet through the pod-template-hash", () => {
    expect(
      podWorkload({
        generateName: "web-7f9c6d5b8-",
        labels: { "pod-template-hash": "7f9c6d5b8" },
        ownerReferences: owner("ReplicaSet", "web-7f9c6d5b8"),
      }),
    ).toEqual({ kind: "Deployment", name: "web", apiVersion: "apps/v1" });
  });

  it("keeps a bare ReplicaSet when the hash does not match", () => {
    expect(podWorkload({ ownerReferences: owner("ReplicaSet", "web") }).kind).toBe("ReplicaSet");
  });

  it.each(["StatefulSet", "DaemonSet"])("names a %s owner directly", (kind) => {
    expect(podWorkload({ name: "x-0", ownerReferences: owner(kind, "x") })).toMatchObject({
      kind,
      name: "x",
    });
  });

  it("falls back to the pod's name or generateName", () => {
    expect(podWorkload({ name: "hello" })).toEqual({ kind: "Pod", name: "hello", apiVersion: "v1" });
    expect(podWorkload({ generateName: "hello-" }).name).toBe("hello");
  });
});
