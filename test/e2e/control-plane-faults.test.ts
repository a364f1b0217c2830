// Control-plane faults in the middle of a migration, on the local cluster: the operator's
// connection refused for 30 s; kube-apiserver killed, kept down, and started again; etcd stopped
// (SIGSTOP) for 30 s and resumed. Each time /readyz says the operator cannot reach the API while
// it cannot, and once it can the migration converges with nothing lost: namespaces exactly as
// they must be, one restart per workload. The operator runs without leader election here: with
// it, losing the Lease for longer than its renew deadline exits the process by design (the
// Deployment restarts it), which the leader-failover and random-kill suites cover.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_CLUSTER_DIR,
  killClusterProcess,
  readState,
  restartClusterProcess,
  signalClusterProcess,
} from "../cluster/local-cluster.ts";
import { createAppNamespace, namespaceMetadata, waitForAppsOn } from "../support/apps.ts";
import { installCrd } from "../support/crd.ts";
import { e2eClients, e2eKubeconfigPath, uniqueName } from "../support/kube.ts";
import { applyMigration, getMigration, waitForMigration } from "../support/migrations.ts";
import { type OperatorProcess, startOperator } from "../support/operator.ts";
import {
  deleteMigrationsWithin,
  edited,
  ORIGINAL_KEY,
  OWNER_KEY,
  parseStamp,
  restartStamps,
  withParsedOriginal,
} from "../support/snapshots.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/wait.ts";

const OUTAGE_MS = 30_000;
/** The sum of migrateThrough's own deadlines (first restart, the fault, convergence): they decide. */
const FAULT_TEST_TIMEOUT_MS = 600_000;
const ISTIO = { "istio-injection": "enabled" };
const clients = e2eClients();
const local = readState(DEFAULT_CLUSTER_DIR);
const namespaces: string[] = [];
const migrations: string[] = [];
let operator: OperatorProcess | undefined;
let proxy: TcpProxy | undefined;
const tally = { faults: 0, converged: 0 };

if (!local && process.env.CI === "true") {
  throw new Error("the control-plane fault suite needs the local cluster (it kills and stops its processes)");
}

/** The operator's /readyz: 200, or why not. */
async function readiness(): Promise<{ ok: boolean; text: string }> {
  const port = operator?.healthPort();
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { ok: response.ok, text: await response.text() };
}

async function expectNotReadyWhileDown(): Promise<void> {
  const down = await waitFor(async () => ((await readiness()).ok ? undefined : await readiness()), {
    description: "the operator's /readyz to report the outage",
    timeoutMs: OUTAGE_MS,
  });
  expect(down.text).toContain("API server has not answered");
}

/** A namespace migrated from Istio to Linkerd while `fault` happens; checked exactly afterwards. */
async function migrateThrough(prefix: string, fault: () => Promise<void>): Promise<void> {
  const ns = uniqueName(prefix);
  namespaces.push(ns);
  await createAppNamespace(clients, ns, { labels: ISTIO });
  await waitForAppsOn(clients, ns, "istio");
  const before = await namespaceMetadata(clients, ns);
  const name = uniqueName(prefix);
  migrations.push(name);
  await applyMigration(name, {
    source: { mesh: "istio" },
    target: { mesh: "linkerd" },
    batches: [{ name: "all", namespaces: [ns] }],
    strategy: { maxConcurrentRollouts: 1, blockOnWarnings: false },
  });
  // Mid-migration: relabelled, restarts under way.
  await waitFor(
    async () => [...(await restartStamps(clients, ns)).values()].some((stamp) => stamp !== undefined),
    {
      description: `the first restart in ${ns}`,
      timeoutMs: 120_000,
    },
  );
  tally.faults++;
  await fault();
  await waitForMigration(clients, name, (m) => m.status?.phase === "Succeeded", "Succeeded", 240_000);
  await waitForAppsOn(clients, ns, "linkerd");
  expect(withParsedOriginal(await namespaceMetadata(clients, ns))).toEqual({
    labels: edited(before.labels, { [OWNER_KEY]: name }, ["istio-injection"]),
    annotations: edited(before.annotations, {
      "linkerd.io/inject": "enabled",
      [OWNER_KEY]: name,
      [ORIGINAL_KEY]: { labels: ISTIO, annotations: {} },
    }),
  });
  for (const [ref, stamp] of await restartStamps(clients, ns)) {
    expect(parseStamp(stamp), `${ns} ${ref}`).toMatchObject({
      migration: name,
      direction: "forward",
      attempt: 1,
    });
  }
  await waitFor(async () => (await readiness()).ok, {
    description: "the operator ready again",
    timeoutMs: 60_000,
  });
  expect((await getMigration(clients, name)).status?.doubleMeshedPods ?? 0).toBe(0);
  tally.converged++;
}

describe.skipIf(!local)("control-plane faults mid-migration", () => {
  beforeAll(async () => {
    await installCrd();
    // The operator talks to the apiserver through a proxy the suite can cut.
    const server = new URL(clients.kc.getCurrentCluster()?.server ?? "");
    proxy = new TcpProxy(server.hostname, Number(server.port));
    const port = await proxy.accept();
    const kubeconfig = join(local?.dir ?? DEFAULT_CLUSTER_DIR, "kubeconfig-via-proxy");
    writeFileSync(
      kubeconfig,
      readFileSync(e2eKubeconfigPath(), "utf8").replace(`:${server.port}`, `:${port}`),
    );
    operator = await startOperator({ kubeconfigPath: kubeconfig, args: ["--leader-elect=false"] });
    await waitFor(async () => (await readiness()).ok, {
      description: "the operator ready",
      timeoutMs: 60_000,
    });
  });

  afterAll(async () => {
    console.log(
      `${tally.faults} control-plane faults, ${tally.converged} converged, ${tally.faults - tally.converged} lost`,
    );
    signalClusterProcess("etcd", "SIGCONT");
    await proxy?.accept().catch(() => undefined);
    await deleteMigrationsWithin(migrations);
    await operator?.stop();
    await proxy?.refuse();
    for (const name of namespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
  });

  it(
    "rides out its connection refused for 30 s",
    async () => {
      await migrateThrough("fault-refused", async () => {
        await proxy?.refuse();
        await expectNotReadyWhileDown();
        await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2)); // the rest of the outage: the fault's length
        await proxy?.accept();
      });
    },
    FAULT_TEST_TIMEOUT_MS,
  );

  it(
    "rides out kube-apiserver killed, kept down and started again",
    async () => {
      await migrateThrough("fault-apiserver", async () => {
        await killClusterProcess("kube-apiserver");
        await expectNotReadyWhileDown();
        await restartClusterProcess("kube-apiserver");
      });
    },
    FAULT_TEST_TIMEOUT_MS,
  );

  it(
    "rides out etcd stopped (SIGSTOP) for 30 s",
    async () => {
      await migrateThrough("fault-etcd", async () => {
        signalClusterProcess("etcd", "SIGSTOP");
        try {
          await expectNotReadyWhileDown();
          await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2)); // the rest of the outage
        } finally {
          signalClusterProcess("etcd", "SIGCONT");
        }
      });
    },
    FAULT_TEST_TIMEOUT_MS,
  );
});
