// Step 3: before anything changes, record the namespace's original mesh markers and its owner on
// the namespace itself, so a rollback (or a person) can always put them back.
import { decodeOriginal, meshMarkersOf, ORIGINAL_ANNOTATION, OWNER_ANNOTATION } from "../bookkeeping.ts";
import type { ForwardStep } from "./forward-step.ts";
import { targetControlPlaneProblem } from "./messages.ts";
import type { NamespacePlan } from "./types.ts";

export function recordOriginal({ input, base }: ForwardStep): NamespacePlan | undefined {
  const { ns, migration } = input;
  const recorded =
    ns.markers.annotations[OWNER_ANNOTATION] === migration &&
    decodeOriginal(ns.markers.annotations[ORIGINAL_ANNOTATION]) !== undefined;
  if (recorded) return undefined;
  if (!input.mayStart) return { ...base, phase: "Pending", message: "waiting to start" };
  if (!input.targetControlPlane.ready) {
    return {
      ...base,
      phase: "Blocked",
      problem: targetControlPlaneProblem(input.target, ns.name, input.targetControlPlane),
      message: "target control plane not ready",
    };
  }
  const original = meshMarkersOf(ns.markers);
  return {
    ...base,
    phase: "Pending",
    message: "recording the namespace's original mesh markers",
    actions: [
      {
        type: "RecordOriginal",
        namespace: ns.name,
        resourceVersion: ns.resourceVersion,
        owner: migration,
        original,
        event: {
          type: "Normal",
          reason: "OriginalRecorded",
          message: `Namespace ${ns.name}: recorded its original mesh markers ${JSON.stringify(original)} before changing it`,
        },
      },
    ],
  };
}
