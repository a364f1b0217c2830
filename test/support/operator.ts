// Runs the operator as a real process against the e2e cluster, the way a user
// runs `npm start`: the tests can stop it, kill it with SIGKILL, or run two.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { e2eKubeconfigPath } from "./kube.ts";
import { waitFor } from "./wait.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../..");
let started = 0;

/**
 * Each test file (one process) gets its own run id: its operators only see MeshMigrations
 * labelled with it and elect their leader on their own Lease, so test runs sharing a cluster
 * never act on each other's migrations.
 */
export const RUN_LABEL = "e2e.meshmigration.io/run";
export const RUN_ID = `run-${process.pid}-${Date.now().toString(36)}`;

export interface OperatorProcess {
  identity: string;
  logFile: string;
  /** The port /metrics, /healthz and /readyz answer on. */
  healthPort: () => number | undefined;
  /** Graceful stop (SIGTERM), resolved when the process has exited. */
  stop: () => Promise<void>;
  /** Abrupt death, as in a node crash or an OOM kill. */
  kill: () => Promise<void>;
  exited: () => boolean;
  child: ChildProcess;
}

export interface OperatorOptions {
  identity?: string;
  env?: Record<string, string>;
  args?: string[];
  /** KUBECONFIG for the process (e.g. one with a ServiceAccount token); default the e2e admin one. */
  kubeconfigPath?: string;
}

export async function startOperator(options: OperatorOptions = {}): Promise<OperatorProcess> {
  started++;
  const identity = options.identity ?? `operator-${process.pid}-${started}`;
  const logDir = join(REPO_ROOT, ".cluster", "logs");
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${identity}.log`);
  const log = createWriteStream(logFile, { flags: "a" });
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "src/main.ts"),
      "--health-bind-address=127.0.0.1:0",
      `--identity=${identity}`,
      "--leader-election-namespace=default",
      `--leader-election-id=mmo-${RUN_ID}`,
      `--migration-selector=${RUN_LABEL}=${RUN_ID}`,
      ...(options.args ?? []),
    ],
    {
      env: {
        ...process.env,
        KUBECONFIG: options.kubeconfigPath ?? e2eKubeconfigPath(),
        LOG_LEVEL: "debug",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let port: number | undefined;
  let exited = false;
  const exit = new Promise<void>((resolvePromise) => {
    child.on("exit", () => {
      exited = true;
      resolvePromise();
    });
  });
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    log.write(chunk);
    buffered += chunk.toString();
    const match = /"healthPort":(\d+)/.exec(buffered);
    if (match) port = Number(match[1]);
    if (buffered.length > 100_000) buffered = buffered.slice(-10_000);
  });
  child.stderr?.on("data", (chunk: Buffer) => log.write(chunk));
  await waitFor(() => port !== undefined || exited, {
    description: `operator ${identity} to listen`,
    timeoutMs: 30_000,
  });
  if (exited) throw new Error(`operator ${identity} exited at start; see ${logFile}`);
  return {
    identity,
    logFile,
    child,
    healthPort: () => port,
    exited: () => exited,
    stop: async () => {
      if (!exited) child.kill("SIGTERM");
      await exit;
    },
    kill: async () => {
      if (!exited) child.kill("SIGKILL");
      await exit;
    },
  };
}
