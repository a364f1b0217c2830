// What every namespace plan reads from the namespace's pods, whatever the step, and the two
// questions about them that decide the order of steps.
import type { MeshRef } from "../../meshes/driver.ts";
import { driverFor, isDoubleMeshed, podOnMesh, podOnNoMesh } from "../../meshes/registry.ts";
import type { Action } from "../actions.ts";
import type { PodObservation } from "../facts.ts";
import type { PodCounts } from "./types.ts";

/** What every namespace plan reports about its pods, whatever the step. */
export function observeNamespacePods(
  pods: readonly PodObservation[],
  workloadCount: number,
  source: MeshRef,
  target: MeshRef,
) {
  const live = pods.filter((p) => p.phase !== "Succeeded" && p.phase !== "Failed");
  const managed = live.filter((p) => p.owner !== undefined);
  const doubleMeshedPods = live.filter((p) => isDoubleMeshed(p)).map((p) => p.metadata.name);
  // A pod of a mesh we do not drive is on none of these: not unmeshed, and never on target "none".
  const counts: PodCounts = {
    target: managed.filter((p) => (target.mesh === "none" ? podOnNoMesh(p) : podOnMesh(p, target))).length,
    source: managed.filter((p) => source.mesh !== "none" && podOnMesh(p, source)).length,
    unmeshed: managed.filter(podOnNoMesh).length,
    doubleMeshed: doubleMeshedPods.length,
  };
  const base = {
    actions: [] as Action[],
    workloads: { total: workloadCount, restarted: 0, ready: 0 },
    pods: counts,
    doubleMeshedPods,
    unmanagedPods: live.filter((p) => p.unmanaged).map((p) => p.metadata.name),
  };
  return { base, managed };
}

/**
 * Whether the namespace must first leave the source (and its pods be restarted out of it) before
 * it may enroll in the target: a mesh that enrolls running pods without a restart (ambient) would
 * otherwise capture pods still carrying the source's sidecar.
 */
export function mustDrainBeforeEnrolling(source: MeshRef, target: MeshRef): boolean {
  if (source.mesh === "none" || target.mesh === "none") return false;
  const targetDriver = driverFor(target.mesh);
  const sourceDriver = driverFor(source.mesh);
  return (
    !targetDriver.joinRequiresRestart &&
    sourceDriver.leaveRequiresRestart &&
    !(targetDriver.skipsPodsMeshedBy ?? []).includes(source.mesh)
  );
}

/** Running pods of no workload (bare pods, Job pods) that are on this mesh. */
export function unmanagedPodsOn(pods: readonly PodObservation[], mesh: MeshRef): string[] {
  if (mesh.mesh === "none") return [];
  return pods
    .filter((p) => p.unmanaged && !p.terminating && p.phase !== "Succeeded" && p.phase !== "Failed")
    .filter((p) => podOnMesh(p, mesh))
    .map((p) => p.metadata.name)
    .sort();
}
