// Step 1: a namespace another MeshMigration owns is not ours to touch.
import { OWNER_ANNOTATION } from "../bookkeeping.ts";
import type { ForwardStep } from "./forward-step.ts";
import type { NamespacePlan } from "./types.ts";

export function ownedByAnotherMigration({ input, base }: ForwardStep): NamespacePlan | undefined {
  const owner = input.ns.markers.annotations[OWNER_ANNOTATION];
  if (owner === undefined || owner === input.migration) return undefined;
  return {
    ...base,
    phase: "Blocked",
    problem: {
      reason: "NamespaceOwnedByAnotherMigration",
      message: `Namespace ${input.ns.name} is being migrated by MeshMigration ${owner}; remove it from one of the two migrations.`,
      halts: false,
    },
    message: `owned by MeshMigration ${owner}`,
  };
}
