// Step 2: pod templates that pin themselves to the source mesh are rewritten with the restart,
// unless spec.strategy.workloadOverrides is Fail: then the migration halts before any change.
import { hasChanges } from "../../meshes/markers.ts";
import { rewriteTemplateOptIns } from "../../meshes/registry.ts";
import { describeMesh, workloadRef } from "../restarts.ts";
import type { ForwardStep } from "./forward-step.ts";
import type { NamespacePlan } from "./types.ts";

export function sourceOptInsRefused({ input, base }: ForwardStep): NamespacePlan | undefined {
  if (input.workloadOverrides !== "Fail") return undefined;
  const pinned = input.workloads.filter((w) =>
    hasChanges(rewriteTemplateOptIns(input.source, input.target, w.template).changes),
  );
  if (pinned.length === 0) return undefined;
  const names = pinned.map(workloadRef).join(", ");
  return {
    ...base,
    phase: "Blocked",
    problem: {
      reason: "WorkloadOverridesFound",
      message:
        `Pod templates in namespace ${input.ns.name} pin themselves to ${describeMesh(input.source)}: ${names}. ` +
        "Remove those opt-ins, or set spec.strategy.workloadOverrides: Rewrite to let the operator rewrite them " +
        "(the originals are recorded on each workload).",
      halts: true,
    },
    message: `pod-template opt-ins to the source mesh: ${names}`,
  };
}
