// deploy/write-limits.yaml: generated from the drivers' keys and the operator's bookkeeping, it
// holds the operator's own ServiceAccount to the keys it owns on everything RBAC lets it patch.
// That the apiserver enforces it, and that the migration suites pass under it, is
// test/e2e/least-privilege.test.ts's to show.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ANNOTATIONS } from "../../../src/api/constants.ts";
import {
  DEPLOYED_IDENTITY,
  renderWriteLimitsYaml,
  WRITE_LIMITS_FILE,
  writeLimits,
} from "../../../src/install/write-limits.ts";
import { allNamespaceMarkerKeys, allTemplateMarkerKeys } from "../../../src/meshes/registry.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");

interface Policy {
  kind: string;
  metadata: { name: string };
  spec: {
    policyName?: string;
    validationActions?: string[];
    failurePolicy?: string;
    matchConstraints?: {
      resourceRules: Array<{ apiGroups: string[]; resources: string[]; operations: string[] }>;
    };
    matchConditions?: Array<{ expression: string }>;
    variables?: Array<{ name: string; expression: string }>;
    validations?: Array<{ expression: string; reason?: string }>;
  };
}

const objects = writeLimits(DEPLOYED_IDENTITY) as Policy[];
const policies = objects.filter((o) => o.kind === "ValidatingAdmissionPolicy");
const policyOn = (resource: string) =>
  policies.find((p) => p.spec.matchConstraints?.resourceRules[0]?.resources.includes(resource));

describe("deploy/write-limits.yaml", () => {
  it("is what src/install/write-limits.ts generates", () => {
    const committed = readFileSync(resolve(REPO_ROOT, WRITE_LIMITS_FILE), "utf8");
    expect(committed, `${WRITE_LIMITS_FILE} is stale: run \`npm run crds\` and commit the result`).toBe(
      renderWriteLimitsYaml(),
    );
    expect(parseAllDocuments(committed).map((d) => (d.toJS() as Policy).metadata.name)).toHaveLength(
      objects.length,
    );
  });

  it("limits every kind the ClusterRole lets the operator patch, and binds each policy to Deny", () => {
    for (const resource of ["namespaces", "deployments", "statefulsets", "daemonsets", "meshmigrations"]) {
      const policy = policyOn(resource);
      expect(policy, resource).toBeDefined();
      expect(policy?.spec.failurePolicy).toBe("Fail");
      expect(policy?.spec.matchConstraints?.resourceRules[0]?.operations).toEqual(["UPDATE"]);
      const binding = objects.find(
        (o) => o.kind.endsWith("Binding") && o.spec.policyName === policy?.metadata.name,
      );
      expect(binding?.spec.validationActions).toEqual(["Deny"]);
      // Refusals are 403s: the least-privilege suite counts any refused request as a failure.
      for (const validation of policy?.spec.validations ?? []) expect(validation.reason).toBe("Forbidden");
    }
  });

  it("applies only to the operator's ServiceAccount: users and other controllers are not limited", () => {
    for (const policy of policies) {
      expect(policy.spec.matchConditions?.map((c) => c.expression)).toEqual([
        "request.userInfo.username == 'system:serviceaccount:mesh-migration-system:mesh-migration-operator'",
      ]);
    }
  });

  it("lets the operator change exactly the mesh markers and its bookkeeping keys", () => {
    const variable = (resource: string, name: string) =>
      policyOn(resource)?.spec.variables?.find((v) => v.name === name)?.expression ?? "";
    for (const key of [...allNamespaceMarkerKeys().labels, ANNOTATIONS.owner]) {
      expect(variable("namespaces", "labelsChangedOutside")).toContain(`'${key}'`);
    }
    for (const key of [...allNamespaceMarkerKeys().annotations, ANNOTATIONS.owner, ANNOTATIONS.original]) {
      expect(variable("namespaces", "annotationsChangedOutside")).toContain(`'${key}'`);
    }
    for (const key of allTemplateMarkerKeys().labels) {
      expect(variable("deployments", "templateLabelsChangedOutside")).toContain(`'${key}'`);
    }
    for (const key of [...allTemplateMarkerKeys().annotations, ANNOTATIONS.restartedFor]) {
      expect(variable("deployments", "templateAnnotationsChangedOutside")).toContain(`'${key}'`);
    }
    // On the workload itself, only the record of the template keys it rewrote.
    expect(variable("deployments", "annotationsChangedOutside")).toContain(
      `['${ANNOTATIONS.templateOriginal}']`,
    );
    // The pod spec itself never: no image, command, volume or security context.
    const frozen =
      policyOn("deployments")
        ?.spec.validations?.map((v) => v.expression)
        .join("\n") ?? "";
    expect(frozen).toContain("object.spec.template.spec == oldObject.spec.template.spec");
    expect(frozen).toContain("object.spec.replicas == oldObject.spec.replicas");
    // A MeshMigration's spec is its user's: the operator only adds and removes its finalizer.
    const migration =
      policyOn("meshmigrations")
        ?.spec.validations?.map((v) => v.expression)
        .join("\n") ?? "";
    expect(migration).toContain("object.spec == oldObject.spec");
    expect(migration).not.toContain("finalizers");
  });
});
