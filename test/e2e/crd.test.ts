// The generated CRD on a real kube-apiserver: every invalid example is rejected
// at `kubectl apply` with a message that names the rule, and nothing is created.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { installCrd } from "../support/crd.ts";
import { kubectl } from "../support/kubectl.ts";

const INVALID_DIR = resolve(import.meta.dirname, "../fixtures/invalid-migrations");
const examples = readdirSync(INVALID_DIR).filter((file) => file.endsWith(".yaml"));

beforeAll(async () => {
  await installCrd();
});

describe("MeshMigration CRD validation", () => {
  it("has an invalid example for every rule", () => {
    expect(examples.length).toBeGreaterThanOrEqual(10);
  });

  it.each(examples)("rejects %s with a message naming the rule", async (file) => {
    const text = readFileSync(join(INVALID_DIR, file), "utf8");
    const expected = /^# expect: (.+)$/m.exec(text)?.[1]?.trim();
    expect(expected, `${file} must start with '# expect: <fragment>'`).toBeTruthy();
    const result = await kubectl(["apply", "-f", "-"], text);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(expected);
    const name = /^\s*name:\s*(\S+)/m.exec(text)?.[1] ?? "";
    const got = await kubectl(["get", "meshmigration", name, "--ignore-not-found", "-o", "name"]);
    expect(got.stdout.trim()).toBe("");
  });

  it("accepts a valid migration, fills in the defaults, and prints the columns", async () => {
    const manifest = [
      "apiVersion: meshmigration.io/v1alpha1",
      "kind: MeshMigration",
      "metadata: {name: crd-valid-example}",
      "spec:",
      "  source: {mesh: istio, revision: 1-24}",
      "  target: {mesh: linkerd}",
      "  paused: true",
      "  batches: [{name: canary, namespaces: [does-not-exist-yet]}]",
    ].join("\n");
    const dryRun = await kubectl(["apply", "--dry-run=server", "-o", "json", "-f", "-"], manifest);
    expect(dryRun.stderr).toBe("");
    const object = JSON.parse(dryRun.stdout) as { spec: { strategy: Record<string, unknown> } };
    expect(object.spec.strategy).toMatchObject({
      maxConcurrentNamespaces: 1,
      maxConcurrentRollouts: 5,
      rolloutTimeout: "10m",
      workloadOverrides: "Rewrite",
    });
    const columns = await kubectl([
      "get",
      "crd",
      "meshmigrations.meshmigration.io",
      "-o",
      "jsonpath={.spec.versions[0].additionalPrinterColumns[*].name}",
    ]);
    expect(columns.stdout.split(" ")).toEqual(
      ["Source", "Target", "Phase", "Batch", "Direction", "Progress", "Double-Meshed", "Age"].map((c) =>
        expect.stringMatching(new RegExp(`^${c}$`, "i")),
      ),
    );
  });
});
