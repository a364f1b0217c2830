// WorkloadOptsOutOfTarget: a workload whose pod template opts out of the target mesh (for
// example linkerd.io/inject: disabled when moving to Linkerd) is restarted out of the source like
// every other, and comes back on no mesh at all. That is a choice a person must make on purpose,
// so it blocks until acknowledged.
import type { MigrationWarning } from "../api/schema.ts";
import { driverFor, templateOptsOutOf } from "../meshes/registry.ts";
import { listNames, movingNamespaces } from "./boundary.ts";
import { describeMeshRef, workloadName } from "./describe.ts";
import type { PreflightInput, PreflightWorkload } from "./input.ts";

/** Restarted out of the source (it is on it, and leaving needs a restart) into a mesh it refuses. */
function leavesEveryMesh(input: PreflightInput, workload: PreflightWorkload): boolean {
  if (input.source.mesh === "none" || input.target.mesh === "none") return false;
  if (!driverFor(input.source.mesh).leaveRequiresRestart || workload.hostNetwork) return false;
  return (
    templateOptsOutOf(workload.template, input.target.mesh) &&
    !templateOptsOutOf(workload.template, input.source.mesh)
  );
}

export function targetOptOutWarnings(input: PreflightInput): MigrationWarning[] {
  const source = describeMeshRef(input.source);
  const target = describeMeshRef(input.target);
  return movingNamespaces(input).flatMap(({ name }) => {
    const leaving = input
      .workloadsIn(name)
      .filter((workload) => leavesEveryMesh(input, workload))
      .map(workloadName);
    if (leaving.length === 0) return [];
    const one = leaving.length === 1;
    return [
      {
        code: "WorkloadOptsOutOfTarget",
        severity: "Blocking" as const,
        namespace: name,
        message:
          `${listNames(leaving)} in namespace ${name} opt${one ? "s" : ""} out of ${target} on the pod template: ` +
          `restarting ${one ? "it" : "them"} out of ${source} would leave ${one ? "its" : "their"} pods on no mesh at ` +
          `all (no mTLS, no policy). Remove the opt-out so ${one ? "it moves" : "they move"} with the namespace, ` +
          `or move ${one ? "it" : "them"} to a namespace that stays on ${source}; to run ${one ? "it" : "them"} ` +
          "unmeshed on purpose, acknowledge with spec.strategy.blockOnWarnings: false.",
      },
    ];
  });
}
