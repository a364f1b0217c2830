// The whole plan builds its projected pods from each driver's memberMarks: a pod carrying them
// must read as a member of exactly that mesh (and revision), or the plan would mispredict.
import { describe, expect, it } from "vitest";
import type { MeshRef, PodFacts } from "../../../src/meshes/driver.ts";
import { driverFor, MESH_DRIVERS, meshesOfPod, podOnMesh } from "../../../src/meshes/registry.ts";

function podWith(ref: MeshRef): PodFacts {
  const marks = driverFor(ref.mesh).memberMarks(ref);
  return {
    metadata: { name: "p", annotations: marks.annotations },
    spec: { containers: [{ name: "app" }, ...marks.containers.map((name) => ({ name }))] },
  };
}

const refs: MeshRef[] = [
  ...Object.keys(MESH_DRIVERS).map((mesh) => ({ mesh }) as MeshRef),
  { mesh: "istio", revision: "canary" },
];

describe("memberMarks", () => {
  it.each(refs.map((ref) => [ref.revision ? `${ref.mesh}@${ref.revision}` : ref.mesh, ref] as const))(
    "a pod with %s's marks is on that mesh and no other",
    (_name, ref) => {
      const pod = podWith(ref);
      expect(podOnMesh(pod, ref)).toBe(true);
      expect(meshesOfPod(pod)).toEqual(ref.mesh === "none" ? [] : [ref.mesh]);
    },
  );

  it("marks a revision the other revision does not claim", () => {
    const pod = podWith({ mesh: "istio", revision: "canary" });
    expect(podOnMesh(pod, { mesh: "istio", revision: "default" })).toBe(false);
  });
});
