// The demo's operator: `node src/main.ts` as a detached background process that outlives
// `npm run demo`, its pid in a file so it can be found again (and stopped with kill).
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { dirname, join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { freePort, isAlive } from "../../test/cluster/processes.ts";
import {
  DEMO_OPERATOR_SELECTOR,
  type DemoPaths,
  LEADER_ELECTION_ID,
  LEADER_ELECTION_NAMESPACE,
  REPO_ROOT,
} from "./settings.ts";

const ENTRY_POINT = join(REPO_ROOT, "src", "main.ts");

/** The pid of the demo's operator if it is running, read from the pid file. */
export function runningOperatorPid(paths: DemoPaths): number | undefined {
  if (!existsSync(paths.operatorPidFile)) return undefined;
  const pid = Number(readFileSync(paths.operatorPidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  // A recycled pid belongs to some other program: check the command line where Linux shows it.
  const cmdline = `/proc/${pid}/cmdline`;
  if (existsSync(cmdline) && !readFileSync(cmdline, "utf8").includes(ENTRY_POINT)) return undefined;
  return pid;
}

export interface StartedOperator {
  pid: number;
  identity: string;
}

/** Starts the operator in the background and waits until its caches are synced and it leads. */
export async function startDemoOperator(
  kc: k8s.KubeConfig,
  kubeconfigPath: string,
  paths: DemoPaths,
  log: (line: string) => void,
  timeoutMs = 60_000,
): Promise<StartedOperator> {
  const port = await freePort();
  const identity = `${LEADER_ELECTION_ID}-${process.pid}`;
  mkdirSync(dirname(paths.operatorLog), { recursive: true });
  const logFd = openSync(paths.operatorLog, "a");
  const child = spawn(
    process.execPath,
    [
      ENTRY_POINT,
      `--health-bind-address=127.0.0.1:${port}`,
      `--identity=${identity}`,
      `--leader-election-namespace=${LEADER_ELECTION_NAMESPACE}`,
      `--leader-election-id=${LEADER_ELECTION_ID}`,
      // Every MeshMigration but the test suites' (they bring their own operators).
      `--migration-selector=${DEMO_OPERATOR_SELECTOR}`,
    ],
    {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", logFd, logFd],
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
    },
  );
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`could not start the operator (${process.execPath})`);
  child.unref();
  const pid = child.pid;
  writeFileSync(paths.operatorPidFile, `${pid}\n`);

  const leases = kc.makeApiClient(k8s.CoordinationV1Api);
  const deadline = Date.now() + timeoutMs;
  let waitingFor = "its caches to sync (/readyz)";
  let toldHolder: string | undefined;
  for (;;) {
    if (!isAlive(pid)) {
      throw new Error(`the operator exited right after starting; see ${paths.operatorLog}`);
    }
    if (waitingFor.startsWith("its caches")) {
      if (await httpOk(`http://127.0.0.1:${port}/readyz`)) waitingFor = "the leader election";
    } else {
      const lease = await leases
        .readNamespacedLease({ name: LEADER_ELECTION_ID, namespace: LEADER_ELECTION_NAMESPACE })
        .catch(() => undefined);
      const holder = lease?.spec?.holderIdentity;
      if (holder === identity) return { pid, identity };
      if (holder && holder !== toldHolder) {
        log(
          `the Lease ${LEADER_ELECTION_NAMESPACE}/${LEADER_ELECTION_ID} is still held by ${holder} (an operator ` +
            `that did not stop cleanly); it expires within ${lease?.spec?.leaseDurationSeconds ?? 15}s`,
        );
        toldHolder = holder;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the operator (pid ${pid}) did not finish starting within ${timeoutMs / 1000}s: waiting for ` +
          `${waitingFor}; see ${paths.operatorLog}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** SIGTERM (the operator releases its Lease and exits), then waits for it to be gone. */
export async function stopDemoOperator(paths: DemoPaths, timeoutMs = 30_000): Promise<number | undefined> {
  const pid = runningOperatorPid(paths);
  if (pid !== undefined) {
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + timeoutMs;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
  }
  rmSync(paths.operatorPidFile, { force: true });
  return pid;
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const request = get(url, { timeout: 2000 }, (response) => {
      response.resume();
      resolvePromise(response.statusCode === 200);
    });
    request.on("error", () => resolvePromise(false));
    request.on("timeout", () => request.destroy());
  });
}
