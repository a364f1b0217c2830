// Steps 4 and 5: relabel the namespace to the stage mesh in one patch (the source's markers out,
// the target's in, so it never enrolls both), unless a second mesh's marker appeared once it
// enrolled: that is someone else's edit, reported and halted on rather than removed.
import { applyChange, isNoChange } from "../../meshes/markers.ts";
import { namespaceMeshes, namespaceOnMesh, namespaceSwitch } from "../../meshes/registry.ts";
import { meshMarkersOf } from "../bookkeeping.ts";
import { describeMesh } from "../restarts.ts";
import type { ForwardStep } from "./forward-step.ts";
import { targetControlPlaneProblem } from "./messages.ts";
import type { NamespacePlan } from "./types.ts";

export function conflictingMeshMarkers({ input, base, stage }: ForwardStep): NamespacePlan | undefined {
  const { ns } = input;
  const enrolledIn = namespaceMeshes(ns.markers);
  const onStage = stage.mesh === "none" ? enrolledIn.length === 0 : namespaceOnMesh(ns.markers, stage);
  const strays = enrolledIn.filter((mesh) => mesh !== stage.mesh);
  if (!onStage || strays.length === 0) return undefined;
  return {
    ...base,
    phase: "Failed",
    problem: {
      reason: "ConflictingMeshMarkers",
      message:
        `Namespace ${ns.name} is being moved to ${describeMesh(stage)} but now also carries the markers of ` +
        `${strays.join(", ")} (${JSON.stringify(meshMarkersOf(ns.markers))}), so new pods could join two meshes. ` +
        "The migration is halted; remove the stray marker to resume, or set spec.rollback: true.",
      halts: true,
    },
    message: `also enrolled in ${strays.join(", ")}`,
  };
}

export function relabelToStage({ input, base, stage }: ForwardStep): NamespacePlan | undefined {
  const { ns, source, target } = input;
  const relabel = namespaceSwitch(source, stage, ns.markers);
  if (isNoChange(relabel, ns.markers)) return undefined;
  if (!input.mayStart) return { ...base, phase: "Pending", message: "waiting to relabel" };
  if (!input.targetControlPlane.ready) {
    return {
      ...base,
      phase: "Blocked",
      problem: targetControlPlaneProblem(target, ns.name, input.targetControlPlane),
      message: "target control plane not ready",
    };
  }
  const after = applyChange(ns.markers, relabel);
  const joining = stage === target;
  return {
    ...base,
    phase: "Relabelled",
    message: joining ? `moving to ${describeMesh(target)}` : `leaving ${describeMesh(source)} first`,
    actions: [
      {
        type: "Relabel",
        namespace: ns.name,
        resourceVersion: ns.resourceVersion,
        change: relabel,
        event: {
          type: "Normal",
          reason: "NamespaceRelabelled",
          message:
            `Namespace ${ns.name}: ${describeMesh(source)} markers removed, ` +
            (joining
              ? `${describeMesh(target)} markers added`
              : `${describeMesh(target)} waits until no ${describeMesh(source)} sidecar remains`) +
            ` (now ${JSON.stringify(meshMarkersOf(after))})`,
        },
      },
    ],
  };
}
