// The forward runbook of one namespace, as a pure function of what the cluster shows: record →
// relabel → restart (rewriting template opt-ins) → verify from the pods. Into ambient with a
// waypoint, the waypoint comes before the relabel; out of ambient, the operator's waypoint goes once
// the pods are verified. A namespace another migration owns, or one running pods of a mesh we do
// not drive, is refused before any change.
// Every step reads facts on the objects themselves, so a restarted operator picks up exactly where
// the cluster is. The first step that has something to say decides the plan.
import { foreignMeshPodsFound } from "./foreign-mesh-pods.ts";
import { forwardStep } from "./forward-step.ts";
import { ownedByAnotherMigration } from "./ownership.ts";
import { recordOriginal } from "./record-original.ts";
import { conflictingMeshMarkers, relabelToStage } from "./relabel.ts";
import { restartIntoStage } from "./restart.ts";
import { sourceOptInsRefused } from "./source-opt-ins.ts";
import type { NamespacePlan, NamespacePlanInput } from "./types.ts";
import { waypointBeforeJoining } from "./waypoint-forward.ts";
import { releaseAfterLeavingAmbient } from "./waypoint-release.ts";

export function planNamespaceForward(input: NamespacePlanInput): NamespacePlan {
  const step = forwardStep(input);
  return (
    ownedByAnotherMigration(step) ??
    foreignMeshPodsFound(step) ??
    sourceOptInsRefused(step) ??
    recordOriginal(step) ??
    conflictingMeshMarkers(step) ??
    waypointBeforeJoining(step) ??
    relabelToStage(step) ??
    releaseAfterLeavingAmbient(input, restartIntoStage(step))
  );
}
