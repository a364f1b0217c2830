// A policy resource the reader may not list is not "no policies": its objects could block
// cross-mesh traffic, and nobody can tell. Each such resource is a blocking warning.
import type { MigrationWarning } from "../api/schema.ts";
import type { PreflightInput } from "./input.ts";
import { POLICY_RESOURCES, policyResourceName, policyResourceReadFor } from "./policy-resources.ts";

/** Whether this migration's preflight reads the resource (some are read only for some meshes). */
function readFor(input: PreflightInput, resourceName: string): boolean {
  const resource = POLICY_RESOURCES.find((r) => policyResourceName(r) === resourceName);
  return resource === undefined || policyResourceReadFor(resource, input.source.mesh, input.target.mesh);
}

export function unreadablePolicyWarnings(input: PreflightInput): MigrationWarning[] {
  const unreadable = (input.unreadablePolicies ?? []).filter((u) => readFor(input, u.resource));
  return unreadable.map((unreadable) => ({
    code: "PolicyUnreadable",
    severity: "Blocking",
    message:
      `The ${unreadable.resource} cannot be read (${unreadable.reason}), so the preflight cannot tell whether they ` +
      "block traffic between the meshes during the move. Grant list and watch on them (deploy/cluster-role.yaml " +
      "does), or acknowledge with spec.strategy.blockOnWarnings: false.",
  }));
}
