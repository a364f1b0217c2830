// The forward runbook of one namespace, as a pure function of what the cluster shows: record →
// relabel → restart (rewriting template opt-ins) → verify from the pods. Every step reads facts on
// the objects themselves, so a restarted operator picks up exactly where the cluster is. The
// first step that has something to say decides the plan.
import { forwardStep } from "./forward-step.ts";
import { ownedByAnotherMigration } from "./ownership.ts";
import { recordOriginal } from "./record-original.ts";
import { conflictingMeshMarkers, relabelToStage } from "./relabel.ts";
import { restartIntoStage } from "./restart.ts";
import { sourceOptInsRefused } from "./source-opt-ins.ts";
import type { NamespacePlan, NamespacePlanInput } from "./types.ts";

export function planNamespaceForward(input: NamespacePlanInput): NamespacePlan {
  const step = forwardStep(input);
  return (
    ownedByAnotherMigration(step) ??
    sourceOptInsRefused(step) ??
    recordOriginal(step) ??
    conflictingMeshMarkers(step) ??
    relabelToStage(step) ??
    restartIntoStage(step)
  );
}
