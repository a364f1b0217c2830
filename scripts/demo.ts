// `npm run demo`: the operator at work on a laptop. Starts (or reuses) the local cluster with
// Istio's own istiod and Linkerd's own proxy-injector (MMO_MESHES=emulated: our emulations), deploys sample applications meshed by Istio, installs the
// CRD, starts the operator in the background, applies examples/demo-istio-to-linkerd.yaml and
// shows the migration live until it is done. Leaves everything running to play with.
//
//   npm run demo                      run (again: reuses the cluster, the apps and the operator)
//   npm run demo -- --timeout=20m     wait longer for the migration (default 10m)
//   npm run demo -- --hold            stop at the gate after the canary batch; advance it yourself
//   npm run demo -- --clean           remove what the demo created, keep the cluster
//   npm run demo -- --stop            stop everything the demo started: its operator and the cluster
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { CRD_NAME } from "../src/api/constants.ts";
import { parseDurationMs } from "../src/controller/duration.ts";
import {
  DEFAULT_CLUSTER_DIR,
  meshModeFromEnv,
  readState,
  startLocalCluster,
  stopLocalCluster,
} from "../test/cluster/local-cluster.ts";
import { DEMO_NAMESPACES, deleteDemoApps, ensureDemoApps, waitForAppsOnIstio } from "./demo/apps.ts";
import { demoCommands } from "./demo/commands.ts";
import { clusterKubectl, type Kubectl } from "./demo/kubectl.ts";
import { runningOperatorPid, startDemoOperator, stopDemoOperator } from "./demo/operator.ts";
import { writePluginShim } from "./demo/plugin-shim.ts";
import type { MigrationSnapshot } from "./demo/progress.ts";
import {
  CRD_DIR,
  type DemoPaths,
  demoPaths,
  GATE_BATCH,
  LEADER_ELECTION_ID,
  LEADER_ELECTION_NAMESPACE,
  MIGRATION_FILE,
  MIGRATION_NAME,
} from "./demo/settings.ts";
import { readSnapshot, type WatchResult, watchMigration } from "./demo/watch.ts";

const USAGE = `usage: npm run demo [-- [--timeout=10m] [--hold] [--clean] [--stop] [--dir=DIR]]
  --timeout=DURATION  how long to wait for the migration once applied (default 10m; e.g. 90s, 20m)
  --hold              stop at the gate after the ${GATE_BATCH} batch instead of advancing it
  --clean             delete the demo's namespaces, MeshMigration and operator; keep the cluster
  --stop              stop the demo's operator and the local cluster (npm run demo starts both again)
  --dir=DIR           the local cluster's directory (default .cluster, or $MMO_CLUSTER_DIR)`;

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        timeout: { type: "string", default: "10m" },
        hold: { type: "boolean", default: false },
        clean: { type: "boolean", default: false },
        stop: { type: "boolean", default: false },
        dir: { type: "string", default: process.env.MMO_CLUSTER_DIR ?? DEFAULT_CLUSTER_DIR },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const timeoutMs = (() => {
  try {
    return parseDurationMs(values.timeout);
  } catch (error) {
    console.error(`--timeout: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();

const say = (line = "") => console.log(line);
const step = (title: string) => say(`\n▸ ${title}`);
const detail = (line: string) => say(`  ${line}`);
const paths = demoPaths(values.dir);
let doing = "starting";

function fail(error: unknown): never {
  say();
  say(`✖ The demo failed while ${doing}:`);
  say(`  ${error instanceof Error ? error.message : String(error)}`);
  say();
  say("Logs:");
  say(`  the demo's operator: ${paths.operatorLog}`);
  say(`  the cluster (apiserver, kwok, meshes): ${join(paths.clusterDir, "logs")}/`);
  say("Run `npm run demo` again once the cause is fixed: it picks up where it stopped.");
  process.exit(1);
}

async function clean(): Promise<void> {
  doing = "removing the demo";
  const state = readState(paths.clusterDir);
  if (state && existsSync(state.kubeconfig)) {
    const kc = loadKubeConfig(state.kubeconfig);
    const kubectl = clusterKubectl(state.binDir, state.kubeconfig);
    step("Removing what the demo created (the cluster stays up)");
    await kubectl
      .run(["delete", "meshmigration", MIGRATION_NAME, "--ignore-not-found", "--wait=true"])
      .then(() => detail(`meshmigration/${MIGRATION_NAME} deleted`))
      .catch((error: unknown) => detail(`meshmigration/${MIGRATION_NAME}: ${(error as Error).message}`));
    await deleteDemoApps(kc, detail);
  } else {
    detail(`no cluster in ${paths.clusterDir}: nothing to remove there`);
  }
  const pid = await stopDemoOperator(paths);
  detail(
    pid === undefined ? "the demo's operator was not running" : `the demo's operator (pid ${pid}) stopped`,
  );
  if (state && existsSync(state.kubeconfig)) {
    const leases = loadKubeConfig(state.kubeconfig).makeApiClient(k8s.CoordinationV1Api);
    await leases
      .deleteNamespacedLease({ name: LEADER_ELECTION_ID, namespace: LEADER_ELECTION_NAMESPACE })
      .catch(() => undefined);
  }
  say("\nDone. `npm run demo` starts the demo again; `npm run demo -- --stop` stops the cluster too.");
}

/** Everything the demo started, stopped: the operator first (it releases its Lease), then the cluster. */
async function stop(): Promise<void> {
  doing = "stopping the demo";
  step("Stopping the demo's operator and the local cluster");
  const pid = await stopDemoOperator(paths);
  detail(
    pid === undefined ? "the demo's operator was not running" : `the demo's operator (pid ${pid}) stopped`,
  );
  await stopLocalCluster(paths.clusterDir);
  detail(`the local cluster in ${paths.clusterDir} stopped`);
  say("\nDone. `npm run demo` starts it all again (the cached binaries make that quick).");
}

function loadKubeConfig(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

async function installCrd(kubectl: Kubectl): Promise<void> {
  await kubectl.run(["apply", "--server-side", "--force-conflicts", "-f", CRD_DIR]);
  await kubectl.run(["wait", "--for=condition=Established", "--timeout=60s", `crd/${CRD_NAME}`]);
}

async function migrationExists(kc: k8s.KubeConfig): Promise<boolean> {
  return readSnapshot(kc, MIGRATION_NAME).then(
    () => true,
    (error: unknown) => {
      if ((error as { code?: number }).code === 404) return false;
      throw error;
    },
  );
}

async function ensureOperator(kc: k8s.KubeConfig, kubeconfig: string, demo: DemoPaths): Promise<void> {
  const running = runningOperatorPid(demo);
  if (running !== undefined) {
    detail(`reusing the operator already running (pid ${running})`);
  } else {
    const started = await startDemoOperator(kc, kubeconfig, demo, detail);
    detail(`started: pid ${started.pid}, identity ${started.identity}, leading`);
  }
  detail(`pid file: ${demo.operatorPidFile}`);
  detail(`log:      ${demo.operatorLog}`);
}

function summary(result: WatchResult): { ok: boolean; lines: string[] } {
  const snapshot: MigrationSnapshot | undefined = result.snapshot;
  const conditions = snapshot?.status?.conditions ?? [];
  const degraded = conditions.find((c) => c.type === "Degraded" && c.status === "True");
  switch (result.outcome) {
    case "Succeeded": {
      const pods = (snapshot?.status?.namespaces ?? []).reduce((sum, ns) => sum + ns.pods.target, 0);
      return {
        ok: true,
        lines: [
          `✔ ${MIGRATION_NAME} is Ready: ${snapshot?.status?.progress ?? "all"} namespaces moved from ` +
            `${snapshot?.source} to ${snapshot?.target}, ${pods} pods verified on ${snapshot?.target}, none double-meshed.`,
        ],
      };
    }
    case "Holding":
      return {
        ok: true,
        lines: [
          `✔ Batch ${GATE_BATCH} is verified and ${MIGRATION_NAME} holds at its gate (Ready=True, phase Holding).`,
          `  Advance it with the "Gate" command below (remove spec.stopAfterBatch).`,
        ],
      };
    case "Paused":
      return {
        ok: true,
        lines: [`${MIGRATION_NAME} is paused (spec.paused: true): resume it with the command below.`],
      };
    case "RolledBack":
      return { ok: true, lines: [`${MIGRATION_NAME} is rolled back (spec.rollback: true).`] };
    case "Failed":
      return {
        ok: false,
        lines: [
          `✖ ${MIGRATION_NAME} halted (phase Failed)${degraded ? `: ${degraded.reason}: ${degraded.message}` : "."}`,
          `  Details: kubectl describe mm ${MIGRATION_NAME}`,
        ],
      };
    case "Timeout":
      return {
        ok: false,
        lines: [
          `✖ ${MIGRATION_NAME} was not done within --timeout=${values.timeout} ` +
            `(phase ${snapshot?.status?.phase ?? "unknown"})${degraded ? `: ${degraded.reason}: ${degraded.message}` : "."}`,
          `  It keeps going in the background; details: kubectl describe mm ${MIGRATION_NAME}`,
        ],
      };
  }
}

async function run(): Promise<void> {
  say("mesh-migration-operator demo: moving sample applications from Istio to Linkerd");

  doing = "starting the local cluster";
  const meshMode = meshModeFromEnv();
  step(
    meshMode === "real"
      ? "Local cluster with real Istio (istiod) and Linkerd (proxy-injector) injectors; istio-cni emulated"
      : "Local cluster with the emulated meshes (Istio sidecar and ambient, Linkerd)",
  );
  if (!readState(paths.clusterDir)) {
    detail(
      "The first time, this builds Kubernetes, etcd, kwok, istiod and Linkerd's injector from Go source: " +
        "it may take ~30 minutes on 2 cores.",
    );
    detail("Later runs reuse the built binaries (and a running cluster) and start in seconds.");
  }
  const cluster = await startLocalCluster({
    dir: paths.clusterDir,
    meshMode,
    log: (line) => detail(`[cluster] ${line}`),
  });
  const kubeconfig = cluster.kubeconfig;
  const kc = loadKubeConfig(kubeconfig);
  const kubectl = clusterKubectl(cluster.state.binDir, kubeconfig);
  detail(`kubeconfig: ${kubeconfig}`);

  doing = "installing the MeshMigration CRD";
  step("MeshMigration CRD (kubectl apply --server-side -f crds/)");
  await installCrd(kubectl);
  detail(`${CRD_NAME} established`);

  doing = "deploying the sample applications";
  step("Sample applications, meshed by Istio (namespace label istio-injection=enabled)");
  const created = await ensureDemoApps(kc, detail);
  const existing = await migrationExists(kc);
  if (existing && created.length === 0) {
    detail(`meshmigration/${MIGRATION_NAME} exists from an earlier run: showing where it stands`);
  } else {
    doing = "waiting for the sample applications to run on Istio";
    await waitForAppsOnIstio(kc, 180_000, detail);
  }

  doing = "starting the operator";
  step("The operator (node src/main.ts, in the background)");
  await ensureOperator(kc, kubeconfig, paths);

  doing = `applying ${MIGRATION_FILE}`;
  step(`The migration: kubectl apply -f examples/${MIGRATION_NAME}.yaml`);
  detail(
    `batch canary: ${DEMO_NAMESPACES[0]?.name}; batch wave-1: the namespaces labelled team=payments; ` +
      `the gate holds after ${GATE_BATCH}`,
  );
  if (existing) {
    // Re-applying would undo what the user changed since (a pause, the gate): leave it as it is.
    detail(`meshmigration/${MIGRATION_NAME} exists already: left as it is (delete it to apply it afresh)`);
  } else {
    detail((await kubectl.run(["apply", "-f", MIGRATION_FILE])).trim());
  }

  doing = "following the migration";
  step(`Progress (until Ready; at most ${values.timeout})`);
  const result = await watchMigration({
    kc,
    name: MIGRATION_NAME,
    timeoutMs,
    out: process.stdout,
    onOutcome: async (outcome, snapshot, note) => {
      if (outcome !== "Holding" || values.hold) return "stop";
      const gate = ["patch", "mm", MIGRATION_NAME, "--type=json", "-p"];
      const removeGate = '[{"op":"remove","path":"/spec/stopAfterBatch"}]';
      note(
        `→ ${snapshot.status?.currentBatch ?? GATE_BATCH} is verified on ${snapshot.target}; the migration holds at ` +
          "its gate (spec.stopAfterBatch). Advancing it:",
      );
      note(`    kubectl ${gate.join(" ")} '${removeGate}'`);
      await kubectl.run([...gate, removeGate]);
      return "continue";
    },
  });

  const { ok, lines } = summary(result);
  say();
  for (const line of lines) say(line);
  say();
  say(
    demoCommands({
      migration: MIGRATION_NAME,
      kubeconfig,
      binDir: cluster.state.binDir,
      pluginDir: writePluginShim(paths.clusterDir),
      operatorPidFile: paths.operatorPidFile,
      operatorLog: paths.operatorLog,
      sampleNamespace: DEMO_NAMESPACES[1]?.name ?? "default",
    }),
  );
  if (!ok) {
    say();
    say(`The cluster and the operator keep running. Operator log: ${paths.operatorLog}`);
    process.exit(1);
  }
}

process.on("SIGINT", () => {
  say(
    "\nInterrupted. The cluster and the demo's operator keep running; `npm run demo -- --clean` removes the demo.",
  );
  process.exit(130);
});

try {
  if (values.stop) await stop();
  else if (values.clean) await clean();
  else await run();
} catch (error) {
  fail(error);
}
