// Every sample in examples/ passes the apiserver's validation of the generated CRD (schema and
// CEL rules): `kubectl apply --dry-run=server` accepts it, and nothing is created.
import { readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { installCrd } from "../support/crd.ts";
import { kubectl } from "../support/kubectl.ts";

const EXAMPLES_DIR = resolve(import.meta.dirname, "../../examples");
const files = readdirSync(EXAMPLES_DIR)
  .filter((file) => file.endsWith(".yaml"))
  .sort();

beforeAll(async () => {
  await installCrd();
});

describe("examples/ on a real apiserver", () => {
  it("has examples to check", () => {
    expect(files.length).toBeGreaterThanOrEqual(13);
  });

  it.each(files)("accepts %s (kubectl apply --dry-run=server)", async (file) => {
    const name = basename(file, ".yaml");
    const result = await kubectl(["apply", "--dry-run=server", "-f", join(EXAMPLES_DIR, file)]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`meshmigration.meshmigration.io/${name}`);
    expect(result.stdout).toContain("(server dry run)");
  });
});
