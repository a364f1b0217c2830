// Before the first change: a namespace running pods of a mesh we do not drive (Kuma, App Mesh,
// OSM, …) is not ours to move. Restarted into the target they would carry two meshes' proxies;
// left alone they are on neither side. So the migration halts before it records or relabels
// anything, and says which pods, which mesh, and what to do. Once a namespace is ours this step is
// silent: the double-mesh guard refuses our proxy on such pods and isDoubleMeshed finds them.
import type { MeshRef } from "../../meshes/driver.ts";
import type { ForeignMesh } from "../../meshes/foreign-meshes.ts";
import { foreignMeshesOfPod } from "../../meshes/registry.ts";
import { OWNER_ANNOTATION } from "../bookkeeping.ts";
import type { PodObservation } from "../facts.ts";
import { describeMesh } from "../restarts.ts";
import type { ForwardStep } from "./forward-step.ts";
import type { NamespacePlan } from "./types.ts";

/** Pods named per mesh in a message; the rest are counted. */
const NAMED_PODS = 5;

export interface ForeignMeshPods {
  mesh: ForeignMesh;
  /** Sorted pod names. */
  pods: string[];
}

/** The namespace's running pods of meshes we do not drive, by mesh (managed or not: none is ours to move). */
export function foreignMeshPods(pods: readonly PodObservation[]): ForeignMeshPods[] {
  const byMesh = new Map<string, ForeignMeshPods>();
  const running = pods.filter((p) => !p.terminating && p.phase !== "Succeeded" && p.phase !== "Failed");
  for (const pod of running) {
    for (const mesh of foreignMeshesOfPod(pod)) {
      const found = byMesh.get(mesh.id) ?? { mesh, pods: [] };
      found.pods.push(pod.metadata.name);
      byMesh.set(mesh.id, found);
    }
  }
  for (const found of byMesh.values()) found.pods.sort();
  return [...byMesh.values()];
}

/** "3 pod(s) meshed by Kuma (kuma-sidecar): a, b, c", naming the first few and counting the rest. */
function podsSaid({ mesh, pods }: ForeignMeshPods): string {
  const named = pods.slice(0, NAMED_PODS).join(", ");
  const more = pods.length > NAMED_PODS ? ` and ${pods.length - NAMED_PODS} more` : "";
  return `${pods.length} pod(s) meshed by ${mesh.title} (${mesh.evidence}): ${named}${more}`;
}

/** Why such pods stop the move, for the mesh the namespace is moving to. */
function whyItStops(target: MeshRef): string {
  if (target.mesh === "none")
    return "The operator does not take pods off a mesh it does not drive, so they would stay meshed and the namespace could never be verified on none";
  return `Moving the namespace would give them the ${describeMesh(target)} proxy beside their own (two meshes in one pod)`;
}

export function foreignMeshPodsMessage(
  namespace: string,
  target: MeshRef,
  found: readonly ForeignMeshPods[],
): string {
  const ways = found.map(({ mesh }) => `out of ${mesh.title} (${mesh.leave})`).join("; ");
  return (
    `Namespace ${namespace} runs pods of a mesh the operator does not drive: ${found.map(podsSaid).join("; ")}. ` +
    `${whyItStops(target)}, so nothing in the namespace was changed and the migration is halted. Move those ` +
    `workloads ${ways} first, or leave namespace ${namespace} out of spec.batches; the migration then resumes by itself.`
  );
}

export function foreignMeshPodsFound({ input, base }: ForwardStep): NamespacePlan | undefined {
  // Already ours: changes were made, and the guard and the double-mesh check watch it from here.
  if (input.ns.markers.annotations[OWNER_ANNOTATION] === input.migration) return undefined;
  const found = foreignMeshPods(input.pods);
  if (found.length === 0) return undefined;
  return {
    ...base,
    phase: "Blocked",
    problem: {
      reason: "ForeignMeshPods",
      message: foreignMeshPodsMessage(input.ns.name, input.target, found),
      halts: true,
    },
    message: `pods of a mesh the operator does not drive: ${found
      .map(({ mesh, pods }) => `${mesh.title} (${pods.length})`)
      .join(", ")}`,
  };
}
