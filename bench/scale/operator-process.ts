// The operator as the image runs it (compiled dist/main.js, not type stripping, with the
// ENTRYPOINT's node flags and the Deployment's environment), with what the
// benchmark reads from it: resident memory sampled from /proc, and heap used after a full
// garbage collection, asked through the inspector so the operator needs no benchmark hooks.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export interface BenchOperator {
  /** Highest resident set since the last resetPeak(), in bytes (sampled every 100 ms). */
  peakRss(): number;
  resetPeak(): void;
  /** Heap used after a full GC, in bytes. */
  heapAfterGc(): Promise<number>;
  stop(): Promise<void>;
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

/** Resolves the inspector's WebSocket URL from the "Debugger listening on ws://…" line. */
function inspectorUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const url = /Debugger listening on (ws:\/\/\S+)/.exec(seen)?.[1];
      if (url) resolve(url);
    });
    child.once("exit", (code) =>
      reject(new Error(`the operator exited (${code}) before its inspector listened`)),
    );
  });
}

/** One inspector call: HeapProfiler.collectGarbage, then process.memoryUsage().heapUsed. */
async function measureHeap(url: string): Promise<number> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let id = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<{ result?: { result?: { value?: unknown } } }>((resolve) => {
      const mine = ++id;
      const onMessage = (event: MessageEvent) => {
        const message = JSON.parse(String(event.data)) as { id?: number };
        if (message.id !== mine) return;
        socket.removeEventListener("message", onMessage);
        resolve(message as never);
      };
      socket.addEventListener("message", onMessage);
      socket.send(JSON.stringify({ id: mine, method, params }));
    });
  try {
    await call("HeapProfiler.collectGarbage");
    const answer = await call("Runtime.evaluate", {
      expression: "process.memoryUsage().heapUsed",
      returnByValue: true,
    });
    return Number(answer.result?.result?.value);
  } finally {
    socket.close();
  }
}

interface DeploymentManifest {
  spec?: { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } };
}

/**
 * The environment deploy/deployment.yaml gives the operator, its literal values only (NODE_OPTIONS
 * and the allocator's settings; not the downward API's), so the benchmark measures what is deployed.
 */
export function deployedEnv(repoRoot: string): Record<string, string> {
  const manifest = parse(
    readFileSync(join(repoRoot, "deploy/deployment.yaml"), "utf8"),
  ) as DeploymentManifest;
  const env = manifest.spec?.template?.spec?.containers?.[0]?.env ?? [];
  return Object.fromEntries(env.flatMap((v) => (v.value === undefined ? [] : [[v.name, v.value]])));
}

/** The node flags of the image's ENTRYPOINT (Dockerfile), between "node" and "dist/main.js". */
export function imageNodeFlags(repoRoot: string): string[] {
  const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  const words = entrypoint ? (JSON.parse(entrypoint) as string[]) : [];
  if (words[0] !== "node" || words.at(-1) !== "dist/main.js") {
    throw new Error(`the Dockerfile's ENTRYPOINT is not ["node", ...flags, "dist/main.js"]: ${entrypoint}`);
  }
  return words.slice(1, -1);
}

export async function startBenchOperator(options: {
  kubeconfig: string;
  args: string[];
  logFile: string;
  /** The Deployment's literal environment (deployedEnv). */
  env: Record<string, string>;
  /** The image's node flags (imageNodeFlags). */
  nodeFlags: string[];
}): Promise<BenchOperator> {
  const child = spawn(
    process.execPath,
    ["--inspect=127.0.0.1:0", ...options.nodeFlags, "dist/main.js", ...options.args],
    {
      env: { ...process.env, ...options.env, KUBECONFIG: options.kubeconfig, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const log = createWriteStream(options.logFile);
  child.stdout?.pipe(log);
  const url = await inspectorUrl(child);
  const pid = child.pid as number;
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // exited
    }
  }, 100);
  return {
    peakRss: () => peak,
    resetPeak: () => {
      peak = rssOf(pid);
    },
    heapAfterGc: () => measureHeap(url),
    stop: async () => {
      clearInterval(sampler);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
