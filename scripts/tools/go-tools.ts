// The Go tools the chart and monitoring tests run (helm, promtool), as their build scripts make
// them: a no-op when the binary is cached, a cold build (minutes, with progress lines on stderr)
// when it is not. Where neither the cache nor a build can provide one, the caller decides:
// outside CI a test is skipped with the reason, in CI (CI=true) it fails.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export type GoTool = "helm" | "promtool";

export type ToolLookup = { path: string; problem?: undefined } | { path?: undefined; problem: string };

const SCRIPTS = resolve(import.meta.dirname);

/** The build script of a tool: prints the binary directory on its last line. */
export function buildScriptOf(tool: GoTool): string {
  return join(SCRIPTS, `build-${tool}.sh`);
}

/** Runs the tool's build script (its progress goes to this process's stderr) and finds the binary. */
export function goTool(tool: GoTool): ToolLookup {
  const script = buildScriptOf(tool);
  const built = spawnSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (built.error) return { problem: `could not run ${script}: ${built.error.message}` };
  if (built.status !== 0) {
    return {
      problem:
        `${script} failed (exit ${built.status}); its output is above. It builds ${tool} from its Go ` +
        "module, so it needs Go (see scripts/tools/versions.env) and the Go module proxy.",
    };
  }
  const binDir = built.stdout.trim().split("\n").at(-1) ?? "";
  const path = join(binDir, tool);
  if (!existsSync(path)) return { problem: `${script} printed ${binDir}, which holds no ${tool}` };
  return { path };
}

/**
 * A tool for a test file: its path, or undefined with the reason printed (outside CI), so the
 * file's tests can be skipped. In CI a missing tool throws: CI runs every test.
 */
export function goToolForTests(tool: GoTool): string | undefined {
  const found = goTool(tool);
  if (found.path) return found.path;
  const message = `${tool} is not available, so its tests cannot run: ${found.problem}`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`[skipped] ${message} Run \`bash ${buildScriptOf(tool)}\` to build it.`);
  return undefined;
}
