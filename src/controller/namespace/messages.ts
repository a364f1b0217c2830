// The problems and messages of the forward steps, each saying what to do.
import type { MeshRef } from "../../meshes/driver.ts";
import { meshesOfPod } from "../../meshes/registry.ts";
import type { ControlPlaneFacts, PodObservation } from "../facts.ts";
import { describeMesh, MAX_RESTART_ATTEMPTS, workloadRef } from "../restarts.ts";
import type { Problem } from "./types.ts";

/** The target's control plane is not ready: nothing is restarted into it until it is. */
export function targetControlPlaneProblem(
  target: MeshRef,
  namespace: string,
  facts: ControlPlaneFacts,
): Problem {
  return {
    reason: "TargetControlPlaneNotReady",
    message:
      `The ${describeMesh(target)} control plane is not ready, so nothing in namespace ${namespace} is restarted: ` +
      `${facts.problems.join("; ")}. The migration continues on its own once it is ready.`,
    halts: false,
  };
}

/**
 * The namespace cannot join a mesh that takes running pods (ambient) while pods nobody can restart
 * still run the leaving mesh's proxy: they would be captured into two meshes at once.
 */
export function strandedPodsProblem(
  namespace: string,
  leaving: MeshRef,
  joining: MeshRef,
  pods: readonly string[],
): Problem {
  return {
    reason: "UnmanagedPodsOnSource",
    message:
      `Namespace ${namespace} waits to join ${describeMesh(joining)}: ${pods.length} pod(s) that no workload ` +
      `manages still run the ${describeMesh(leaving)} proxy (${pods.slice(0, 10).join(", ")}), and ` +
      `${describeMesh(joining)} would capture them into two meshes. Delete or recreate them (a Job's pod: let it ` +
      "finish or delete it); the namespace then joins by itself.",
    halts: false,
  };
}

/**
 * Says what verified, and never "verified" for a pod that runs on no mesh: workloads that opt out
 * of the target (or cannot be injected) are named with their unmeshed pods.
 */
export function migratedMessage(
  target: MeshRef,
  workloadCount: number,
  managed: readonly PodObservation[],
): string {
  const offMesh = target.mesh === "none" ? [] : managed.filter((p) => meshesOfPod(p).length === 0);
  if (offMesh.length === 0)
    return `every pod of ${workloadCount} workload(s) verified on ${describeMesh(target)}`;
  const owners = [...new Set(offMesh.map((p) => (p.owner ? workloadRef(p.owner) : p.metadata.name)))].sort();
  return (
    `${managed.length - offMesh.length} pod(s) verified on ${describeMesh(target)}; ${offMesh.length} pod(s) of ` +
    `${owners.join(", ")} run on no mesh (they opt out of ${describeMesh(target)} or cannot be injected)`
  );
}

export function verificationFailedMessage(
  namespace: string,
  source: MeshRef,
  stage: MeshRef,
  failed: readonly string[],
  unmeshed: readonly string[],
  managed: readonly PodObservation[],
  sourcePods: number,
): string {
  // Only the pods of the named workloads: another workload may run unmeshed on purpose.
  const offMeshPods = managed.filter(
    (p) => p.owner !== undefined && unmeshed.includes(workloadRef(p.owner)) && meshesOfPod(p).length === 0,
  ).length;
  const offMesh =
    unmeshed.length > 0
      ? ` ${offMeshPods} pod(s) of ${unmeshed.join(", ")} now run on no mesh: the ${describeMesh(stage)} injector let ` +
        "them start without its proxy (a fail-open injector that is down or unreachable does this)."
      : "";
  const untouched =
    source.mesh === "none"
      ? ""
      : ` No other workload of the namespace is restarted while this holds; ${sourcePods} pod(s) stay on ${describeMesh(source)}.`;
  return (
    `Namespace ${namespace}: after ${MAX_RESTART_ATTEMPTS} restarts these workloads still have pods that are not on ` +
    `${describeMesh(stage)}: ${failed.join("; ")}.${offMesh}${untouched} Check that the injector answers ` +
    "(its webhook, certificate and process) and that the pods do not opt out, then restart the workload with " +
    "kubectl rollout restart and the migration resumes; or set spec.rollback: true to return the namespace and " +
    `its workloads to ${describeMesh(source)}.`
  );
}
