// How meshes and workloads are named in preflight and plan messages.
import type { MeshRef } from "../meshes/driver.ts";

export function describeMeshRef(ref: MeshRef): string {
  if (ref.mesh === "none") return "no mesh";
  return ref.revision ? `${ref.mesh} (revision ${ref.revision})` : ref.mesh;
}

/** deployment/web, as kubectl writes it. */
export function workloadName(workload: { kind: string; name: string }): string {
  return `${workload.kind.toLowerCase()}/${workload.name}`;
}
