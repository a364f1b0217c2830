// A real Kubernetes control plane on this machine, from binaries built from Go
// modules: etcd, kube-apiserver (RBAC on), kube-controller-manager,
// kube-scheduler, and kwok standing in for kubelets on fake Nodes. Every
// listener is on 127.0.0.1 on a free port, so a second cluster can run beside
// the first; all state lives in one directory.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as k8s from "@kubernetes/client-node";
import { type ClientCert, type ClusterPki, ensurePki } from "./pki.ts";
import { freePort, isAlive, logTail, type StartedProcess, startDetached, stopProcess } from "./processes.ts";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DEFAULT_CLUSTER_DIR = join(REPO_ROOT, ".cluster");
const FAKE_NODE_COUNT = 3;
/** Records the operator ServiceAccount's requests (the RBAC evidence, scripts/rbac/derive.ts). */
const AUDIT_POLICY = join(REPO_ROOT, "test/cluster/audit-policy.yaml");

/**
 * What a running apiserver was started with beyond its ports: a cluster started with another
 * configuration is restarted rather than reused. Bump the version when an apiserver flag changes.
 */
function apiserverConfigDigest(): string {
  return createHash("sha256").update("apiserver-config-1\n").update(readFileSync(AUDIT_POLICY)).digest("hex");
}

/** Whose injectors the cluster runs: Istio's and Linkerd's own (the default), or our emulations. */
export type MeshMode = "real" | "emulated";

/** MMO_MESHES=real|emulated, real when unset. */
export function meshModeFromEnv(env: NodeJS.ProcessEnv = process.env): MeshMode {
  const value = env.MMO_MESHES ?? "real";
  if (value !== "real" && value !== "emulated") {
    throw new Error(`MMO_MESHES must be real or emulated, not ${JSON.stringify(value)}`);
  }
  return value;
}

export interface ClusterOptions {
  /** Where all state goes; removed by stop(). */
  dir?: string;
  /** Install Istio and Linkerd (default true). */
  meshes?: boolean;
  /** Which injectors (default: MMO_MESHES, else real). */
  meshMode?: MeshMode;
  log?: (line: string) => void;
}

export interface ClusterState {
  dir: string;
  binDir: string;
  kubeconfig: string;
  apiserverPort: number;
  processes: StartedProcess[];
  meshes: boolean;
  meshMode: MeshMode;
  /** The kube-apiserver's audit log (JSON lines, the operator ServiceAccount's requests only). */
  auditLog?: string;
  /** apiserverConfigDigest() at start; absent on clusters started before it existed. */
  apiserverConfig?: string;
}

export interface RunningCluster {
  kubeconfig: string;
  state: ClusterState;
  /** True when this call found a cluster already running and reused it. */
  reused: boolean;
}

function statePath(dir: string): string {
  return join(dir, "state.json");
}

export function readState(dir = DEFAULT_CLUSTER_DIR): ClusterState | undefined {
  const path = statePath(dir);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8")) as ClusterState;
}

function writeJsonAtomically(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** Runs a build script (its progress goes to stderr) and returns the directory on its last line. */
function runBuild(script: string, expected: string): string {
  const output = execFileSync("bash", [join(REPO_ROOT, script)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const binDir = output.trim().split("\n").pop();
  if (!binDir || !existsSync(join(binDir, expected))) {
    throw new Error(`${script} did not produce ${expected} (got ${JSON.stringify(binDir)})`);
  }
  return binDir;
}

/** Builds (or finds in the cache) the control-plane binaries; returns their directory. */
export function buildBinaries(log: (line: string) => void): string {
  log("control plane binaries: building or reusing the cache (a cold build takes several minutes)");
  return runBuild("scripts/cluster/build-control-plane.sh", "kube-apiserver");
}

/** The Gateway API's own CRDs (standard channel, from its Go module), applied server-side. */
function installGatewayApiCrds(binDir: string, kubeconfig: string, log: (line: string) => void): void {
  const crdDir = runBuild("scripts/meshes/fetch-gateway-api.sh", "gateway.networking.k8s.io_gateways.yaml");
  execFileSync(
    join(binDir, "kubectl"),
    ["--kubeconfig", kubeconfig, "apply", "--server-side", "-f", crdDir],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  log(`Gateway API CRDs installed from ${crdDir}`);
}

/** Builds (or finds in the cache) istiod and Linkerd's proxy-injector from their own source. */
export function buildMeshBinaries(log: (line: string) => void): {
  istio: string;
  linkerd: string;
  consul: string;
} {
  log(
    "mesh binaries: building or reusing the cache (istiod and Linkerd's injector; a cold build takes minutes)",
  );
  return {
    istio: runBuild("scripts/meshes/build-istio.sh", "pilot-discovery"),
    linkerd: runBuild("scripts/meshes/build-linkerd.sh", "linkerd-controller"),
    consul: runBuild("scripts/meshes/build-consul.sh", "consul-k8s-control-plane"),
  };
}

function kubeconfigYaml(server: string, pki: ClusterPki, client: ClientCert, user: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: mmo-local",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority: ${pki.caCert}`,
    "users:",
    `- name: ${user}`,
    "  user:",
    `    client-certificate: ${client.cert}`,
    `    client-key: ${client.key}`,
    "contexts:",
    "- name: mmo-local",
    "  context:",
    "    cluster: mmo-local",
    `    user: ${user}`,
    "current-context: mmo-local",
    "",
  ].join("\n");
}

async function httpGetOk(url: string, pki?: ClusterPki): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const options = pki
      ? {
          ca: readFileSync(pki.caCert),
          cert: readFileSync(pki.clients.admin.cert),
          key: readFileSync(pki.clients.admin.key),
        }
      : {};
    const req = url.startsWith("https:")
      ? request(url, { ...options, timeout: 2000 }, (res) => {
          res.resume();
          resolvePromise(res.statusCode === 200);
        })
      : (() => {
          // etcd's health endpoint is plain HTTP on loopback.
          return import("node:http").then(({ request: httpRequest }) => {
            const r = httpRequest(url, { timeout: 2000 }, (res) => {
              res.resume();
              resolvePromise(res.statusCode === 200);
            });
            r.on("error", () => resolvePromise(false));
            r.end();
          });
        })();
    if ("on" in req) {
      req.on("error", () => resolvePromise(false));
      req.end();
    }
  });
}

async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  process?: StartedProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    if (process && !isAlive(process.pid)) {
      throw new Error(
        `${process.name} exited while waiting for ${what}; last lines of ${process.log}:\n${logTail(process.log)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${process ? `; see ${process.log}` : ""}`,
  );
}

async function healthy(state: ClusterState): Promise<boolean> {
  if (!state.processes.every((p) => isAlive(p.pid))) return false;
  const pki = ensurePkiPaths(join(state.dir, "pki"));
  return httpGetOk(`https://127.0.0.1:${state.apiserverPort}/readyz`, pki);
}

/**
 * Fault injection for the control-plane fault suite: SIGKILL one of the cluster's processes
 * (kube-apiserver, etcd...) and, on `restart`, start it again exactly as it was started.
 */
export async function killClusterProcess(name: string, dir = DEFAULT_CLUSTER_DIR): Promise<StartedProcess> {
  const state = readState(dir);
  const process_ = state?.processes.find((p) => p.name === name);
  if (!state || !process_) throw new Error(`no ${name} in the local cluster at ${dir}`);
  process.kill(process_.pid, "SIGKILL");
  for (let i = 0; i < 100 && isAlive(process_.pid); i++) await new Promise((r) => setTimeout(r, 50));
  return process_;
}

export async function restartClusterProcess(name: string, dir = DEFAULT_CLUSTER_DIR): Promise<void> {
  const state = readState(dir);
  const index = state?.processes.findIndex((p) => p.name === name) ?? -1;
  const old = state?.processes[index];
  if (!state || !old?.command || !old.args)
    throw new Error(`cannot restart ${name}: not started by this cluster`);
  state.processes[index] = startDetached(name, old.command, old.args, old.log);
  writeJsonAtomically(statePath(dir), state);
  await waitUntil(`${name} to serve again`, () => healthy(state), 120_000, state.processes[index]);
}

/** SIGSTOP or SIGCONT one of the cluster's processes (etcd stalled, then resumed). */
export function signalClusterProcess(
  name: string,
  signal: "SIGSTOP" | "SIGCONT",
  dir = DEFAULT_CLUSTER_DIR,
): void {
  const process_ = readState(dir)?.processes.find((p) => p.name === name);
  if (!process_) throw new Error(`no ${name} in the local cluster at ${dir}`);
  process.kill(process_.pid, signal);
}

function ensurePkiPaths(dir: string): ClusterPki {
  return ensurePki(dir);
}

/** Starts a cluster in `dir`, or reuses the one already running there. */
export async function startLocalCluster(options: ClusterOptions = {}): Promise<RunningCluster> {
  const dir = resolve(options.dir ?? DEFAULT_CLUSTER_DIR);
  const log = options.log ?? ((line: string) => console.error(`[cluster] ${line}`));
  const meshes = options.meshes ?? true;
  const meshMode = options.meshMode ?? meshModeFromEnv();

  const existing = readState(dir);
  if (existing) {
    const sameConfig =
      existing.meshes === meshes &&
      existing.meshMode === meshMode &&
      existing.apiserverConfig === apiserverConfigDigest();
    if (sameConfig && (await healthy(existing))) {
      log(`reusing the cluster already running in ${dir}`);
      return { kubeconfig: existing.kubeconfig, state: existing, reused: true };
    }
    log(`found a stale or different cluster in ${dir}; stopping it first`);
    await stopLocalCluster(dir);
  }

  const binDir = buildBinaries(log);
  const meshBinaries = meshes && meshMode === "real" ? buildMeshBinaries(log) : undefined;
  const bin = (name: string) => join(binDir, name);
  const logs = join(dir, "logs");
  mkdirSync(logs, { recursive: true });
  mkdirSync(join(dir, "pki"), { recursive: true });
  const pki = ensurePki(join(dir, "pki"));

  const [etcdClient, etcdPeer, apiserverPort, kcmPort, schedulerPort, kwokPort] = await Promise.all(
    Array.from({ length: 6 }, () => freePort()),
  );
  const server = `https://127.0.0.1:${apiserverPort}`;
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigYaml(server, pki, pki.clients.admin, "admin"));
  const componentKubeconfig = (name: "controller-manager" | "scheduler" | "kwok") => {
    const path = join(dir, `${name}.kubeconfig`);
    writeFileSync(path, kubeconfigYaml(server, pki, pki.clients[name], name));
    return path;
  };

  const auditLog = join(logs, "audit.log");
  const state: ClusterState = {
    dir,
    binDir,
    kubeconfig,
    apiserverPort: apiserverPort!,
    processes: [],
    meshes,
    meshMode,
    auditLog,
    apiserverConfig: apiserverConfigDigest(),
  };
  const started = (p: StartedProcess) => {
    state.processes.push(p);
    writeJsonAtomically(statePath(dir), state);
    return p;
  };

  try {
    const etcd = started(
      startDetached(
        "etcd",
        bin("etcd"),
        [
          "--name=mmo-local",
          `--data-dir=${join(dir, "etcd")}`,
          `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
          `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-cluster=mmo-local=http://127.0.0.1:${etcdPeer}`,
          "--listen-metrics-urls=",
          // Test data is disposable: skipping fsync makes the apiserver much faster here.
          "--unsafe-no-fsync=true",
          "--log-level=warn",
        ],
        join(logs, "etcd.log"),
      ),
    );
    await waitUntil("etcd", () => httpGetOk(`http://127.0.0.1:${etcdClient}/health`), 30_000, etcd);

    const apiserver = started(
      startDetached(
        "kube-apiserver",
        bin("kube-apiserver"),
        [
          `--etcd-servers=http://127.0.0.1:${etcdClient}`,
          "--bind-address=127.0.0.1",
          "--advertise-address=127.0.0.1",
          // The `kubernetes` Service would point at loopback, which Endpoints reject; nothing here needs it.
          "--endpoint-reconciler-type=none",
          `--secure-port=${apiserverPort}`,
          `--cert-dir=${join(dir, "apiserver-certs")}`,
          `--tls-cert-file=${pki.servingCert}`,
          `--tls-private-key-file=${pki.servingKey}`,
          `--client-ca-file=${pki.caCert}`,
          "--authorization-mode=RBAC",
          "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
          `--service-account-key-file=${pki.serviceAccountPub}`,
          `--service-account-signing-key-file=${pki.serviceAccountKey}`,
          "--service-cluster-ip-range=10.96.0.0/16",
          "--allow-privileged=true",
          "--profiling=false",
          `--audit-policy-file=${AUDIT_POLICY}`,
          `--audit-log-path=${auditLog}`,
          "--audit-log-format=json",
          // Written before the response, so a test reads its own requests as soon as they return.
          "--audit-log-mode=blocking",
        ],
        join(logs, "kube-apiserver.log"),
      ),
    );
    await waitUntil("kube-apiserver /readyz", () => httpGetOk(`${server}/readyz`, pki), 120_000, apiserver);

    started(
      startDetached(
        "kube-controller-manager",
        bin("kube-controller-manager"),
        [
          `--kubeconfig=${componentKubeconfig("controller-manager")}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${kcmPort}`,
          `--cert-dir=${join(dir, "kcm-certs")}`,
          "--leader-elect=false",
          // kwok's nodes renew their leases through the apiserver: an outage the fault suites cause
          // (etcd stopped 30 s) must not mark them NotReady, which marks every pod NotReady, and
          // kwok never makes a Running pod Ready again, so later suites would find no control plane.
          "--node-monitor-grace-period=10m",
          "--use-service-account-credentials=true",
          `--service-account-private-key-file=${pki.serviceAccountKey}`,
          `--root-ca-file=${pki.caCert}`,
          "--profiling=false",
        ],
        join(logs, "kube-controller-manager.log"),
      ),
    );
    started(
      startDetached(
        "kube-scheduler",
        bin("kube-scheduler"),
        [
          `--kubeconfig=${componentKubeconfig("scheduler")}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${schedulerPort}`,
          "--leader-elect=false",
          "--profiling=false",
        ],
        join(logs, "kube-scheduler.log"),
      ),
    );
    started(
      startDetached(
        "kwok",
        bin("kwok"),
        [
          `--kubeconfig=${componentKubeconfig("kwok")}`,
          `--config=${join(REPO_ROOT, "test/cluster/kwok-stages.yaml")}`,
          "--manage-all-nodes=false",
          "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
          `--server-address=127.0.0.1:${kwokPort}`,
          // Node Leases are the heartbeat the node lifecycle controller reads; without them it marks
          // every fake node NotReady after its grace period and their pods not Ready.
          "--node-lease-duration-seconds=40",
          "--cidr=10.244.0.1/16",
          "--node-ip=10.240.0.1",
        ],
        join(logs, "kwok.log"),
      ),
    );

    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    await createFakeNodes(kc, log);
    await waitForControllers(kc, log);
    // Before the meshes start: istiod watches Gateways (waypoints) when their CRDs are served.
    if (meshes) installGatewayApiCrds(binDir, kubeconfig, log);

    if (meshes) {
      const realBinaries = meshBinaries
        ? [
            `--istio-bin-dir=${meshBinaries.istio}`,
            `--linkerd-bin-dir=${meshBinaries.linkerd}`,
            // MMO_CONSUL=0 leaves Consul's injector out (a cluster for the other meshes only).
            ...(process.env.MMO_CONSUL === "0" ? [] : [`--consul-bin-dir=${meshBinaries.consul}`]),
          ]
        : [];
      const host = started(
        startDetached(
          "meshes",
          process.execPath,
          [
            join(REPO_ROOT, "test/emulators/main.ts"),
            `--kubeconfig=${kubeconfig}`,
            `--state-dir=${join(dir, "emulators")}`,
            `--meshes=${meshMode}`,
            ...realBinaries,
          ],
          join(logs, "meshes.log"),
        ),
      );
      await waitUntil(
        `the ${meshMode} meshes`,
        async () => existsSync(join(dir, "emulators", "emulators.json")),
        180_000,
        host,
      );
    }
  } catch (error) {
    log(`cluster start failed: ${String(error)}`);
    await stopLocalCluster(dir, { keepDir: true });
    throw error;
  }
  log(`cluster ready (${meshes ? `${meshMode} meshes` : "no meshes"}); kubeconfig: ${kubeconfig}`);
  return { kubeconfig, state, reused: false };
}

async function createFakeNodes(kc: k8s.KubeConfig, log: (line: string) => void): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (let i = 0; i < FAKE_NODE_COUNT; i++) {
    const name = `kwok-node-${i}`;
    try {
      await core.createNode({
        body: {
          metadata: {
            name,
            annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
            labels: {
              "kubernetes.io/hostname": name,
              "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64",
              type: "kwok",
            },
          },
          spec: {},
        },
      });
    } catch (error) {
      if ((error as { code?: number }).code !== 409) throw error;
    }
  }
  log(`waiting for ${FAKE_NODE_COUNT} fake nodes to be Ready`);
  await waitUntil(
    "fake nodes Ready",
    async () => {
      const nodes = await core.listNode();
      const ready = nodes.items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      return ready.length >= FAKE_NODE_COUNT;
    },
    60_000,
  );
}

/** The controller-manager is working once it has made the default ServiceAccount. */
async function waitForControllers(kc: k8s.KubeConfig, log: (line: string) => void): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  log("waiting for kube-controller-manager (default ServiceAccount)");
  await waitUntil(
    "the default ServiceAccount",
    async () => {
      try {
        await core.readNamespacedServiceAccount({ name: "default", namespace: "default" });
        return true;
      } catch {
        return false;
      }
    },
    60_000,
  );
}

/** Stops every process of the cluster in `dir` and removes its state. */
export async function stopLocalCluster(
  dir = DEFAULT_CLUSTER_DIR,
  options: { keepDir?: boolean } = {},
): Promise<void> {
  const state = readState(dir);
  if (state) {
    // Reverse start order: emulators and kwok first, etcd last.
    for (const p of [...state.processes].reverse()) await stopProcess(p.pid);
  }
  if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
}
