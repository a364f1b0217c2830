import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CRD_NAME, PROTECTED_NAMESPACES } from "../../../src/api/constants.ts";
import { buildCrd, CRD_FILE, CRD_HEADER, renderCrdYaml } from "../../../src/api/crd.ts";
import { SPEC_RULES } from "../../../src/api/rules.ts";

const committedPath = fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url));

describe("crds/", () => {
  it("is up to date with src/api/schema.ts", () => {
    const committed = readFileSync(committedPath, "utf8");
    expect(committed, `${CRD_FILE} is stale: run \`npm run crds\` and commit the result`).toBe(
      renderCrdYaml(),
    );
  });

  it("starts with the do-not-edit header and parses back to buildCrd()", () => {
    const text = renderCrdYaml();
    expect(text.startsWith(CRD_HEADER)).toBe(true);
    expect(parse(text)).toEqual(buildCrd());
  });
});

describe("buildCrd", () => {
  const crd = buildCrd();
  const version = crd.spec.versions[0]!;
  const spec = version.schema.openAPIV3Schema.properties!.spec!;

  it("defines a cluster-scoped meshmigrations.meshmigration.io with one served, stored version", () => {
    expect(crd.metadata.name).toBe(CRD_NAME);
    expect(crd.spec.scope).toBe("Cluster");
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({
      name: "v1alpha1",
      served: true,
      storage: true,
      subresources: { status: {} },
    });
    expect(crd.spec.names).toMatchObject({
      kind: "MeshMigration",
      plural: "meshmigrations",
      shortNames: ["mm", "meshmig"],
      categories: ["meshmigration"],
    });
  });

  it("prints source, target, phase, batch, direction and progress, double-meshed pods and age", () => {
    const columns = version.additionalPrinterColumns.map((c) => [c.name.toUpperCase(), c.type, c.jsonPath]);
    expect(columns).toEqual([
      ["SOURCE", "string", ".spec.source.mesh"],
      ["TARGET", "string", ".spec.target.mesh"],
      ["PHASE", "string", ".status.phase"],
      ["BATCH", "string", ".status.currentBatch"],
      // After a rollback PROGRESS reads 1/1 as after the move: DIRECTION says which way it went.
      ["DIRECTION", "string", ".status.direction"],
      ["PROGRESS", "string", ".status.progress"],
      ["DOUBLE-MESHED", "integer", ".status.doubleMeshedPods"],
      ["AGE", "date", ".metadata.creationTimestamp"],
    ]);
  });

  it("carries every spec rule's CEL expression", () => {
    const text = JSON.stringify(crd);
    for (const rule of SPEC_RULES) expect(text).toContain(JSON.stringify(rule.cel.rule));
  });

  it("names every protected namespace in the protected-namespace rule", () => {
    const item = spec.properties!.batches!.items!.properties!.namespaces!.items!;
    const [rule] = item["x-kubernetes-validations"] as Array<{ rule: string; message: string }>;
    for (const namespace of PROTECTED_NAMESPACES) {
      expect(rule!.rule).toContain(`'${namespace}'`);
      expect(rule!.message).toContain(namespace);
    }
  });

  it("keeps defaults so the apiserver fills them in", () => {
    const strategy = spec.properties!.strategy!;
    expect(strategy.default).toEqual({});
    expect(strategy.properties!.maxConcurrentNamespaces!.default).toBe(1);
    expect(strategy.properties!.maxConcurrentRollouts!.default).toBe(5);
    expect(strategy.properties!.rolloutTimeout!.default).toBe("10m");
    expect(strategy.properties!.workloadOverrides!.default).toBe("Rewrite");
    expect(strategy.properties!.blockOnWarnings!.default).toBe(true);
    for (const flag of ["paused", "rollback", "dryRun"]) expect(spec.properties![flag]!.default).toBe(false);
    expect(spec.required).toEqual(["source", "target", "batches"]);
  });
});
