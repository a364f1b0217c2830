// npm run bench:scale [-- --quick] [--namespaces N --deployments D --replicas R --pauses P --write]
//
// The operator and a kubectl script doing the same job side by side on the local cluster, in
// one run: separate namespace sets of the same shape, the same concurrency (one namespace at a
// time, every workload of a namespace restarted at once), Istio sidecars → Linkerd and back.
// Reported as ratios: wall time, apiserver requests against the minimum the job needs, the
// operator's memory and its growth per 1,000 cached pods, LISTs after start-up, pause latency,
// and the speed-up of maxConcurrentNamespaces 4 over 1. --write commits the figures to
// bench/results/ and the README's table (the README's figures come only from here).
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { startLocalCluster } from "../../test/cluster/local-cluster.ts";
import { installCrd } from "../../test/support/crd.ts";
import {
  applyBaseObjects,
  operatorNamespaceUsable,
  operatorToken,
  RBAC_KINDS,
  writeTokenKubeconfig,
} from "../../test/support/deploy.ts";
import { e2eClients } from "../../test/support/kube.ts";
import { kubectlPath } from "../../test/support/kubectl.ts";
import { difference, listsIn, type RequestCounts, requestCounts } from "./apiserver-requests.ts";
import { createFleet, deleteFleet, type FleetShape, fleetNames, fleetRolledOut, podsOf } from "./fleet.ts";
import { MigrationDriver } from "./migration-driver.ts";
import { deployedEnv, imageNodeFlags, startBenchOperator } from "./operator-process.ts";
import { operatorRequests } from "./operator-requests.ts";
import { measurePauses } from "./pauses.ts";
import { type ScaleResult, writeResults } from "./report.ts";
import { timesPerNamespace, watchWrites } from "./write-watch.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../..");
const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    namespaces: { type: "string" },
    deployments: { type: "string" },
    replicas: { type: "string" },
    pauses: { type: "string" },
    filler: { type: "string" },
    write: { type: "boolean", default: false },
  },
});
const quick = values.quick;
const shape: FleetShape = {
  namespaces: Number(values.namespaces ?? (quick ? 6 : 500)),
  deployments: Number(values.deployments ?? 2),
  replicas: Number(values.replicas ?? (quick ? 3 : 10)),
};
const PAUSES = Number(values.pauses ?? (quick ? 5 : 20));
const FILLER_PODS = Number(values.filler ?? (quick ? 600 : 2000));
const RUN = `b${Date.now().toString(36).slice(-5)}`;
const say = (line: string) => console.error(`[bench:scale] ${line}`);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Runs `job`, returning its wall time and the apiserver requests made while it ran. */
async function measured(
  kc: k8s.KubeConfig,
  job: () => Promise<void>,
): Promise<{ seconds: number; requests: RequestCounts }> {
  const before = await requestCounts(kc);
  const started = performance.now();
  await job();
  const seconds = (performance.now() - started) / 1000;
  return { seconds, requests: difference(await requestCounts(kc), before) };
}

function runScript(
  kubeconfig: string,
  direction: "forward" | "rollback",
  names: readonly string[],
  concurrency = 1,
) {
  execFileSync("bash", [join(import.meta.dirname, "kubectl-migrate.sh"), direction, ...names], {
    env: { ...process.env, KUBECONFIG: kubeconfig, KUBECTL: kubectlPath(), CONCURRENCY: String(concurrency) },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

async function main(): Promise<void> {
  const cluster = await startLocalCluster({ log: (line) => say(line) });
  process.env.E2E_KUBECONFIG = cluster.kubeconfig;
  process.env.E2E_CLUSTER_BIN_DIR = cluster.state.binDir;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  say("compiling dist/ (the image's entry point)");
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: REPO_ROOT, stdio: "inherit" });

  const operatorSet = fleetNames(`${RUN}-op`, shape);
  const scriptSet = fleetNames(`${RUN}-sh`, shape);
  const filler = fleetNames(`${RUN}-filler`, { ...shape, namespaces: 1 });
  const timeout = 120_000 + podsOf(shape) * 200;
  say(
    `creating 2 × ${shape.namespaces} namespaces × ${shape.deployments} Deployments × ${shape.replicas} replicas`,
  );
  await createFleet(kc, [...operatorSet, ...scriptSet], shape);
  await until(
    "both sets rolled out on Istio",
    () => fleetRolledOut(kc, [...operatorSet, ...scriptSet]),
    timeout,
  );

  mkdirSync(join(REPO_ROOT, ".cluster", "logs"), { recursive: true });
  // The operator runs as deploy/ installs it: its ServiceAccount's token, whose requests the
  // apiserver's audit log records, so they are counted exactly.
  await operatorNamespaceUsable(e2eClients(kc));
  // On a fresh cluster nothing has installed the CRD yet.
  await installCrd();
  await applyBaseObjects(RBAC_KINDS);
  const token = await operatorToken();
  const operatorKubeconfig = writeTokenKubeconfig(
    join(cluster.state.dir, "bench-operator.kubeconfig"),
    token,
  );
  const auditLog = join(cluster.state.dir, "logs", "audit.log");
  const port = await freePort();
  const env = deployedEnv(REPO_ROOT);
  const nodeFlags = imageNodeFlags(REPO_ROOT);
  const operator = await startBenchOperator({
    env,
    nodeFlags,
    kubeconfig: operatorKubeconfig,
    logFile: join(REPO_ROOT, ".cluster", "logs", `bench-scale-${RUN}.log`),
    args: [
      "--leader-elect=false",
      `--health-bind-address=127.0.0.1:${port}`,
      `--identity=bench-${RUN}`,
      `--migration-selector=bench.meshmigration.io/run=${RUN}`,
    ],
  });
  const driver = new MigrationDriver(kc, RUN);
  try {
    await until(
      "the operator ready",
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok,
      120_000,
    );
    const ready = Date.now();
    const writes = await watchWrites(kc, operatorSet);

    say("forward: kubectl script");
    const scriptForward = await measured(kc, async () => runScript(cluster.kubeconfig, "forward", scriptSet));
    say("forward: operator, maxConcurrentNamespaces 1");
    operator.resetPeak();
    const forwardStart = Date.now();
    const operatorForward = await measured(kc, () =>
      driver.migrate(
        "one",
        operatorSet,
        { maxConcurrentNamespaces: 1, maxConcurrentRollouts: shape.deployments },
        timeout,
      ),
    );
    const forwardPeakRss = operator.peakRss();
    say(
      `forward done in ${operatorForward.seconds.toFixed(1)} s; operator peak RSS ${(forwardPeakRss / 2 ** 20).toFixed(0)} MB`,
    );
    const perNamespace = timesPerNamespace(writes.writes, forwardStart);

    say("rollback: kubectl script");
    const scriptRollback = await measured(kc, async () =>
      runScript(cluster.kubeconfig, "rollback", scriptSet),
    );
    say("rollback: operator");
    const operatorRollback = await measured(kc, () => driver.rollBack("one", timeout));
    await driver.remove("one");

    say("forward: kubectl script, 4 namespaces at once (the cluster's own ceiling)");
    const scriptFour = await measured(kc, async () => runScript(cluster.kubeconfig, "forward", scriptSet, 4));
    say("forward: operator, maxConcurrentNamespaces 4");
    const four = await measured(kc, () =>
      driver.migrate(
        "four",
        operatorSet,
        { maxConcurrentNamespaces: 4, maxConcurrentRollouts: 4 * shape.deployments },
        timeout,
      ),
    );
    say(`rollback with ${PAUSES} pauses at random moments`);
    const pauses = await measurePauses(driver, "four", writes, PAUSES, timeout);
    await driver.remove("four");
    writes.stop();
    const operatorOwn = operatorRequests(auditLog, ready, Date.now());
    const listsAfterStartup = listsIn(operatorOwn);

    say(`memory: heap after GC at rest, then with ${FILLER_PODS} more pods`);
    const heapBefore = Math.min(await operator.heapAfterGc(), await operator.heapAfterGc());
    const fillerShape = { namespaces: 1, deployments: 1, replicas: FILLER_PODS };
    operator.resetPeak();
    await createFleet(kc, filler, fillerShape);
    await until("the filler pods", () => fleetRolledOut(kc, filler), 120_000 + FILLER_PODS * 200);
    const fillerPeakRss = operator.peakRss();
    const heapAfter = Math.min(await operator.heapAfterGc(), await operator.heapAfterGc());

    const result: ScaleResult = {
      shape,
      pods: podsOf(shape),
      script: { forward: scriptForward, rollback: scriptRollback, four: scriptFour },
      operator: { forward: operatorForward, rollback: operatorRollback, four },
      forwardPeakRss,
      deployedEnv: env,
      nodeFlags,
      heap: { before: heapBefore, after: heapAfter, addedPods: FILLER_PODS },
      fillerPeakRss,
      listsAfterStartup,
      operatorOwn,
      pauses,
      perNamespace,
    };
    writeResults(result, { write: values.write, quick, repoRoot: REPO_ROOT });
  } finally {
    await driver.removeAll();
    await operator.stop();
    await deleteFleet(kc, [...operatorSet, ...scriptSet, ...filler]);
  }
}

await main();
