// The scale benchmark at its --quick size, so CI runs it on every change: the operator and the
// kubectl script side by side on this cluster. Its figures are printed, not asserted (speed and
// memory are the benchmark's to report, never a test's); the test asserts only that it ran.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CLUSTER_DIR, readState } from "../cluster/local-cluster.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../..");
const local = readState(DEFAULT_CLUSTER_DIR);

describe.skipIf(!local)("npm run bench:scale -- --quick", () => {
  it("migrates both sides there and back and prints its table", async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (done) => {
        execFile(
          process.execPath,
          ["bench/scale/main.ts", "--quick"],
          { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 },
          (error, out, err) => done({ code: error ? Number(error.code ?? 1) : 0, stdout: out, stderr: err }),
        );
      },
    );
    console.log(stdout);
    expect(code, stderr.split("\n").slice(-30).join("\n")).toBe(0);
    expect(stdout).toMatch(/\| wall time, forward \| [\d.]+ s \| [\d.]+ s \|/);
    expect(stdout).toMatch(/pause latency .*, \d+ pauses/);
  }, 900_000);
});
