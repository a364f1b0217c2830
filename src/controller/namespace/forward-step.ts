// What every forward step of a namespace reads: the planner's input, what its pods show, and the
// stage the namespace is moving to now (the target, or no mesh while it drains the source first).
import type { MeshRef } from "../../meshes/driver.ts";
import { podOnMesh } from "../../meshes/registry.ts";
import type { PodObservation } from "../facts.ts";
import { mustDrainBeforeEnrolling, observeNamespacePods, unmanagedPodsOn } from "./observe.ts";
import type { NamespacePlan, NamespacePlanInput } from "./types.ts";

export interface ForwardStep {
  input: NamespacePlanInput;
  /** What every plan of this namespace reports, whatever the step. */
  base: Pick<NamespacePlan, "actions" | "workloads" | "pods" | "doubleMeshedPods" | "unmanagedPods">;
  /** Pods of the namespace's workloads. */
  managed: PodObservation[];
  /** Where the namespace moves now: the target, or no mesh while the source drains first. */
  stage: MeshRef;
  /** Pods no workload manages that still run the source's proxy while it drains. */
  strandedPods: string[];
}

const NONE: MeshRef = { mesh: "none" };

export function forwardStep(input: NamespacePlanInput): ForwardStep {
  const { source, target } = input;
  const { base, managed } = observeNamespacePods(input.pods, input.workloads.length, source, target);
  // Drain first when the target would capture pods still carrying the source's sidecar; pods
  // nobody can restart hold the namespace there until someone recreates them.
  const drain = mustDrainBeforeEnrolling(source, target);
  const sourcePodsRemain = source.mesh !== "none" && managed.some((p) => podOnMesh(p, source));
  const strandedPods = drain ? unmanagedPodsOn(input.pods, source) : [];
  const stage = drain && (sourcePodsRemain || strandedPods.length > 0) ? NONE : target;
  return { input, base, managed, stage, strandedPods };
}
