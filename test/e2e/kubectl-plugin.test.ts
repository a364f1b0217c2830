// `kubectl meshmigration` end to end: the real executable (bin/kubectl-meshmigration.js) against the
// local cluster and this file's operator, as a platform engineer drives a migration with it. It
// shows the tree, pauses, promotes the gate, resumes and rolls back and forward, each a spec patch
// read back from the apiserver, refuses what makes no sense with exit 2, and `get --watch` runs in
// a real pseudo-terminal (util-linux script) and in a pipe until the migration is Ready.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { API_VERSION, KIND } from "../../src/api/constants.ts";
import { NOT_HANDLED } from "../../src/cli/plugin/render-tree.ts";
import { waitForAppsOn } from "../support/apps.ts";
import { e2eKubeconfigPath, uniqueName } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import {
  applyMigration,
  condition,
  getMigration,
  kubectlWaitReady,
  waitForMigration,
} from "../support/migrations.ts";
import { migrationSuite } from "../support/suite.ts";
import { waitFor } from "../support/wait.ts";

const PLUGIN = resolve(import.meta.dirname, "../../bin/kubectl-meshmigration.js");
const OPERATOR_CLI = resolve(import.meta.dirname, "../../bin/mesh-migration-operator.js");
const REFUSED = 2;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is looked for
const ESCAPE = /\x1b/;

const { clients, appNamespace, migrationName } = migrationSuite();
const workDir = mkdtempSync(join(tmpdir(), "kubectl-plugin-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runFile(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [file, ...args],
      { env, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** `kubectl meshmigration ARGS --kubeconfig ...`, as kubectl would run the plugin. */
function plugin(...args: string[]): Promise<Run> {
  return runFile(PLUGIN, [...args, "--kubeconfig", e2eKubeconfigPath()]);
}

/** The same, finding the cluster through $KUBECONFIG as kubectl users do. */
function pluginWithEnvKubeconfig(...args: string[]): Promise<Run> {
  return runFile(PLUGIN, args, { ...process.env, KUBECONFIG: e2eKubeconfigPath() });
}

/** Expects a patch that printed `change`, and returns its output. */
async function steer(args: string[], change: string): Promise<string> {
  const result = await plugin(...args);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(change);
  return result.stdout;
}

/** Expects a refusal (exit 2, nothing changed) saying `why`. */
async function refused(args: string[], why: string): Promise<void> {
  const [, name] = args;
  const before = await getMigration(clients, name ?? "");
  const result = await plugin(...args);
  expect(result.code).toBe(REFUSED);
  expect(result.stderr).toContain(why);
  expect((await getMigration(clients, name ?? "")).metadata.generation).toBe(before.metadata.generation);
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number>;
}

function collect(child: ChildProcess): Running {
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exit = new Promise<number>((done) => child.on("exit", (code) => done(code ?? 1)));
  return { child, output: () => output, exit };
}

const shellQuote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;

/**
 * The plugin in a real pseudo-terminal: util-linux `script` runs it on a new pty (-c), flushes
 * (-f), prints nothing of its own (-q) and exits with its exit code (-e). Its standard input stays
 * open, so the plugin reads keys from the terminal as it would for a person.
 */
function inPseudoTerminal(...args: string[]): Running {
  const command = [process.execPath, PLUGIN, ...args, "--kubeconfig", e2eKubeconfigPath()]
    .map(shellQuote)
    .join(" ");
  return collect(
    spawn("script", ["-qefc", command, "/dev/null"], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, TERM: "xterm-256color", NO_COLOR: "" },
    }),
  );
}

/** The plugin with its standard output in a pipe, as `... | tee log` runs it. */
function inPipe(...args: string[]): Running {
  return collect(
    spawn(process.execPath, [PLUGIN, ...args, "--kubeconfig", e2eKubeconfigPath()], {
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

describe("kubectl meshmigration", () => {
  let name = "";
  let canary = "";
  let wave = "";

  it("shows the tree, pauses, moves the gate, and watches it to Ready on a terminal and in a pipe", async () => {
    canary = await appNamespace("plugin-a", {
      labels: { "istio-injection": "enabled" },
      deploymentOnly: true,
    });
    wave = await appNamespace("plugin-b", { labels: { "istio-injection": "enabled" }, deploymentOnly: true });
    await waitForAppsOn(clients, canary, "istio", 3);
    await waitForAppsOn(clients, wave, "istio", 3);
    name = migrationName("plugin");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [
        { name: "canary", namespaces: [canary] },
        { name: "wave-1", namespaces: [wave] },
      ],
      stopAfterBatch: "canary",
    });
    await kubectlWaitReady(name);

    // get: the tree as a person reads it, without colour in a pipe.
    const shown = await plugin("get", name);
    expect(shown.code).toBe(0);
    expect(shown.stdout).not.toMatch(ESCAPE);
    expect(shown.stdout).toContain("◆ Holding");
    // Long values wrap under their key: compared with the line breaks taken out.
    expect(shown.stdout.replace(/\s+/g, " ")).toContain(
      `Gate stopAfterBatch: canary, holding before wave-1 (kubectl meshmigration promote ${name} moves it)`,
    );
    expect(shown.stdout).toMatch(new RegExp(`└─ ${canary} +✔ Migrated +3 +0 +0 +0`));
    expect(shown.stdout).toMatch(new RegExp(`└─ ${wave} +○ Pending +0 +3 +0 +0`));
    expect(shown.stdout).toContain("1/2 namespaces migrated");

    const listed = await pluginWithEnvKubeconfig("list");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(`^${name} +◆ Holding +forward +istio → linkerd +1/2 migrated`, "m"),
    );

    // pause: a spec patch, read back from the apiserver; a second pause is refused.
    await steer(["pause", name], "paused: false → true");
    expect((await getMigration(clients, name)).spec.paused).toBe(true);
    await refused(["pause", name], "is already paused");
    await waitForMigration(clients, name, (m) => condition(m, "Paused")?.status === "True", "Paused=True");

    // promote: an unknown batch is refused; the gate moves (off the last batch: removed).
    await refused(["promote", name, "--to", "wave-9"], 'has no batch "wave-9" (its batches: canary, wave-1)');
    const promoted = await steer(["promote", name], "stopAfterBatch: canary → (none)");
    expect(promoted).toContain("It is still paused");
    expect((await getMigration(clients, name)).spec.stopAfterBatch).toBeUndefined();
    await refused(["promote", name], "has no gate");
    await waitForMigration(clients, name, (m) => m.status?.phase === "Paused", "Paused with work left");

    // get --watch on a terminal and in a pipe, both started while Paused, until Ready.
    const terminal = inPseudoTerminal("get", name, "--watch");
    const piped = inPipe("get", name, "--watch");
    await waitFor(() => terminal.output().includes("Paused") && piped.output().includes("Paused"), {
      description: "both watches to draw the paused migration",
      timeoutMs: 60_000,
    });
    await steer(["resume", name], "paused: true → false");
    await refused(["resume", name], "is not paused");

    expect(await terminal.exit).toBe(0);
    terminal.child.stdin?.end();
    const screen = terminal.output();
    expect(screen).toContain("\x1b[?1049h"); // drawn on the alternate screen
    expect(screen).toContain("\x1b[H"); // redrawn in place
    expect(screen).toContain("\x1b[32m✔ Succeeded"); // in colour
    expect(screen).toContain(`meshmigration ${name} is Ready (Succeeded)`);

    expect(await piped.exit).toBe(0);
    const log = piped.output();
    expect(log).not.toMatch(ESCAPE);
    expect(log).toMatch(/^--- changed at \S+ ---$/m);
    expect(log).toContain("Phase          ‖ Paused");
    expect(log).toContain("Phase          ✔ Succeeded");
    expect(log).toContain(`meshmigration ${name} is Ready (Succeeded)`);
    await waitForAppsOn(clients, wave, "linkerd", 3);
  });

  it("rolls back and forward again, saying which way it moves", async () => {
    await steer(["rollback", name], "rollback: false → true");
    await refused(["rollback", name], "is already rolling back");
    await refused(["promote", name, "--full"], "has no gate");
    await waitForMigration(clients, name, (m) => m.status?.phase === "RolledBack", "RolledBack", 180_000);
    await waitForAppsOn(clients, canary, "istio", 3);

    const listed = await plugin("list");
    expect(listed.stdout).toMatch(
      new RegExp(`^${name} +✔ RolledBack +rollback +linkerd → istio +2/2 rolled back`, "m"),
    );
    const shown = await plugin("get", name);
    expect(shown.stdout).toContain(
      "Direction      rollback, linkerd → istio (back to the recorded originals)",
    );

    await steer(["undo-rollback", name], "rollback: true → false");
    await refused(["undo-rollback", name], "is not rolling back");
    await waitForMigration(clients, name, (m) => m.status?.phase === "Succeeded", "Succeeded again", 180_000);
    await waitForAppsOn(clients, canary, "linkerd", 3);
  });

  it("runs plan with the operator CLI's flags, output and exit code", async () => {
    const file = join(workDir, "plan.yaml");
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: "plugin-plan" },
        spec: {
          source: { mesh: "linkerd" },
          target: { mesh: "istio" },
          batches: [{ name: "b", namespaces: [wave] }],
        },
      }),
    );
    const args = ["plan", "-f", file, "-o", "json", "--kubeconfig", e2eKubeconfigPath()];
    const viaPlugin = await runFile(PLUGIN, args);
    const viaOperatorCli = await runFile(OPERATOR_CLI, args);
    expect(viaPlugin.code).toBe(viaOperatorCli.code);
    expect(JSON.parse(viaPlugin.stdout)).toEqual(JSON.parse(viaOperatorCli.stdout));
    expect((await runFile(PLUGIN, ["plan", "-f", join(workDir, "missing.yaml")])).code).toBe(1);
  });

  it("says when no operator handles a migration, and when there is no such migration", async () => {
    // No run label: this file's operator (--migration-selector) leaves it alone.
    const orphan = migrationName("plugin-orphan");
    const applied = await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: orphan, labels: { team: "nobody-runs-this" } },
        spec: {
          source: { mesh: "istio" },
          target: { mesh: "linkerd" },
          batches: [{ name: "b", namespaces: [uniqueName("plugin-absent")] }],
        },
      }),
    );
    expect(applied.code, applied.stderr).toBe(0);
    const shown = await plugin("get", orphan);
    expect(shown.code).toBe(0);
    expect(shown.stdout.replace(/\s+/g, " ")).toContain(NOT_HANDLED);
    expect(shown.stdout).toContain("team=nobody-runs-this");
    const listed = await plugin("list");
    expect(listed.stdout).toMatch(new RegExp(`^${orphan} +- \\(no status\\)`, "m"));

    const missing = await plugin("get", uniqueName("plugin-none"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: meshmigration plugin-none-\S+ not found/);
  });
});
