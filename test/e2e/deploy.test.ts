// The deployable operator against a real apiserver: the kustomize base in deploy/ validates and
// installs under the restricted Pod Security Standard, and the operator does a whole migration
// with nothing but its ServiceAccount's RBAC: every request it makes is allowed, and a Secret
// is not readable with its token.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { createAppNamespace, livePods, meshOf, waitForAppsOn } from "../support/apps.ts";
import { installCrd } from "../support/crd.ts";
import { e2eClients, e2eKubeConfig, uniqueName } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import {
  applyMigration,
  eventsOf,
  getMigration,
  kubectlWaitReady,
  waitForMigration,
} from "../support/migrations.ts";
import { type OperatorProcess, RUN_ID, startOperator } from "../support/operator.ts";
import { waitFor } from "../support/wait.ts";

const DEPLOY_DIR = resolve(import.meta.dirname, "../../deploy");
const NAMESPACE = "mesh-migration-system";
const SERVICE_ACCOUNT = "mesh-migration-operator";
const RBAC_KINDS = new Set([
  "Namespace",
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
]);

const clients = e2eClients();
const workDir = mkdtempSync(join(tmpdir(), "mmo-deploy-e2e-"));
const createdNamespaces: string[] = [];
const createdMigrations: string[] = [];
let operator: OperatorProcess | undefined;
let tokenKubeconfig: string;

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** The base as `kubectl apply -k` sends it. */
async function renderedBase(): Promise<{ yaml: string; objects: Manifest[] }> {
  const rendered = await kubectl(["kustomize", DEPLOY_DIR]);
  if (rendered.code !== 0) throw new Error(`kubectl kustomize deploy/ failed: ${rendered.stderr}`);
  const documents = parseAllDocuments(rendered.stdout);
  return { yaml: rendered.stdout, objects: documents.map((d) => d.toJS() as Manifest) };
}

async function applyObjects(kinds: Set<string>): Promise<void> {
  const { yaml } = await renderedBase();
  const selected = parseAllDocuments(yaml)
    .filter((d) => kinds.has((d.toJS() as Manifest).kind))
    .map((d) => d.toString())
    .join("---\n");
  const applied = await kubectl(["apply", "-f", "-"], selected);
  if (applied.code !== 0) throw new Error(`kubectl apply failed: ${applied.stderr}`);
}

/** A kubeconfig that authenticates with `token`: the admin kubeconfig's server and CA, no client certificate. */
function writeTokenKubeconfig(token: string): string {
  const admin = e2eKubeConfig();
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error("the e2e kubeconfig has no current cluster");
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "e2e", server: cluster.server, caFile: cluster.caFile, caData: cluster.caData }],
    users: [{ name: SERVICE_ACCOUNT, token }],
    contexts: [{ name: "operator", cluster: "e2e", user: SERVICE_ACCOUNT }],
    currentContext: "operator",
  });
  const path = join(workDir, "operator.kubeconfig");
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}

/** The HTTP status an API call ends with: 200 on success, else the apiserver's code. */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "number") return code;
    throw error;
  }
}

async function waitUntilNamespaceGone(name: string): Promise<void> {
  await waitFor(async () => (await statusOf(clients.core.readNamespace({ name }))) === 404, {
    description: `namespace ${name} to be deleted`,
    timeoutMs: 120_000,
    intervalMs: 500,
  });
}

beforeAll(async () => {
  await installCrd();
  // A namespace left terminating by an earlier run would refuse new objects.
  const previous = await clients.core.readNamespace({ name: NAMESPACE }).catch(() => undefined);
  if (previous?.status?.phase === "Terminating") await waitUntilNamespaceGone(NAMESPACE);
});

afterAll(async () => {
  for (const name of createdMigrations) {
    await kubectl(["delete", "meshmigration", name, "--ignore-not-found", "--timeout=60s"]);
  }
  await operator?.stop();
  for (const name of createdNamespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
  await kubectl(["delete", "-k", DEPLOY_DIR, "--ignore-not-found", "--wait=false"]);
  await waitUntilNamespaceGone(NAMESPACE).catch(() => undefined);
  rmSync(workDir, { recursive: true, force: true });
});

describe("deploy/ kustomize base", () => {
  it("passes the apiserver's validation: kubectl apply -k deploy/ --dry-run=server", async () => {
    // Namespaced objects can only be dry-run into an existing namespace (kubectl creates none in a
    // dry run), so the namespace goes first, as deploy/README.md tells users.
    await applyObjects(new Set(["Namespace"]));
    const dryRun = await kubectl(["apply", "-k", DEPLOY_DIR, "--dry-run=server"]);
    expect(dryRun.stderr).toBe("");
    expect(dryRun.code).toBe(0);
    const { objects } = await renderedBase();
    for (const object of objects) {
      expect(dryRun.stdout).toMatch(new RegExp(`${object.kind.toLowerCase()}[^ ]*/${object.metadata.name} `));
    }
  });

  it("installs two unmeshed replicas that the restricted Pod Security Standard admits", async () => {
    const applied = await kubectl(["apply", "-k", DEPLOY_DIR]);
    expect(applied.code, applied.stderr).toBe(0);
    // The namespace enforces "restricted": a pod that broke it would be refused, not created.
    expect(applied.stderr).not.toMatch(/PodSecurity/);
    const rollout = await kubectl([
      "rollout",
      "status",
      "-n",
      NAMESPACE,
      "deployment/mesh-migration-operator",
      "--timeout=120s",
    ]);
    expect(rollout.code, rollout.stderr).toBe(0);
    const pods = await livePods(clients, NAMESPACE);
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(meshOf(pod)).toBe("none");
      expect(pod.spec?.serviceAccountName).toBe(SERVICE_ACCOUNT);
      expect(pod.spec?.containers[0]?.image).toBe("mesh-migration-operator:0.1.0");
      expect(pod.spec?.containers[0]?.env?.map((e) => e.name)).toEqual(["POD_NAME", "POD_NAMESPACE"]);
    }
    const budget = await kubectl(["get", "pdb", "-n", NAMESPACE, "mesh-migration-operator", "-o", "json"]);
    expect(JSON.parse(budget.stdout).spec.minAvailable).toBe(1);
    // The pods above are kwok's stand-ins (no container runs here); the operator itself runs
    // below as a process with the same ServiceAccount's token. Scale down so nothing else claims it.
    await kubectl(["scale", "-n", NAMESPACE, "deployment/mesh-migration-operator", "--replicas=0"]);
  });
});

function forbiddenLines(logFile: string): string[] {
  return readFileSync(logFile, "utf8")
    .split("\n")
    .filter((line) => /\b403\b|forbidden/i.test(line));
}

/** The migration the forward test completed, for the rollback test after it. */
let migrated: { name: string; namespace: string } | undefined;

describe("the operator with only its ServiceAccount's permissions", () => {
  beforeAll(async () => {
    await applyObjects(RBAC_KINDS);
    const token = await kubectl(["create", "token", SERVICE_ACCOUNT, "-n", NAMESPACE, "--duration=2h"]);
    if (token.code !== 0) throw new Error(`kubectl create token failed: ${token.stderr}`);
    tokenKubeconfig = writeTokenKubeconfig(token.stdout.trim());
  });

  it("migrates a namespace from Istio sidecars to Linkerd without a single forbidden request", async () => {
    operator = await startOperator({
      kubeconfigPath: tokenKubeconfig,
      // Later flags win: elect the leader in the operator's own namespace, where its Role allows Leases.
      args: [`--leader-election-namespace=${NAMESPACE}`],
    });
    const lease = await waitFor(
      async () => {
        const found = await kubectl(["get", "lease", "-n", NAMESPACE, `mmo-${RUN_ID}`, "-o", "json"]);
        if (found.code !== 0) return undefined;
        const holder = (JSON.parse(found.stdout) as { spec?: { holderIdentity?: string } }).spec
          ?.holderIdentity;
        return holder === operator?.identity ? holder : undefined;
      },
      { description: "the operator to hold its Lease in mesh-migration-system", timeoutMs: 60_000 },
    );
    expect(lease).toBe(operator.identity);

    const ns = uniqueName("deploy-rbac");
    createdNamespaces.push(ns);
    await createAppNamespace(clients, ns, { labels: { "istio-injection": "enabled" } });
    await waitForAppsOn(clients, ns, "istio");

    const name = uniqueName("deploy-rbac");
    createdMigrations.push(name);
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [ns] }],
    });
    await kubectlWaitReady(name, 240);

    const pods = await livePods(clients, ns);
    expect(pods.map(meshOf)).toEqual(pods.map(() => "linkerd"));
    const migration = await getMigration(clients, name);
    expect(migration.status).toMatchObject({ phase: "Succeeded", doubleMeshedPods: 0 });
    // Events are best effort (a refused one is only logged): check they were written.
    expect((await eventsOf(name)).map((e) => e.reason)).toContain("NamespaceVerified");

    expect(forbiddenLines(operator.logFile)).toEqual([]);
    migrated = { name, namespace: ns };
  });

  it("rolls the migration back with the same permissions (spec.rollback: true)", async () => {
    if (!migrated || !operator) throw new Error("the forward migration above did not complete");
    const { name, namespace } = migrated;
    const patched = await kubectl([
      "patch",
      "meshmigration",
      name,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { rollback: true } }),
    ]);
    expect(patched.code, patched.stderr).toBe(0);
    await waitForMigration(
      clients,
      name,
      (m) => m.status?.phase === "RolledBack",
      "phase RolledBack",
      240_000,
    );
    await waitForAppsOn(clients, namespace, "istio");
    const labels = (await clients.core.readNamespace({ name: namespace })).metadata?.labels ?? {};
    expect(labels["istio-injection"]).toBe("enabled");
    expect(forbiddenLines(operator.logFile)).toEqual([]);
  });

  it("cannot read Secrets or act beyond its role with the same token", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(tokenKubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const secret = `deploy-e2e-${RUN_ID}`;
    await clients.core.createNamespacedSecret({
      namespace: NAMESPACE,
      body: { metadata: { name: secret }, stringData: { password: "not for the operator" } },
    });
    // The token is valid: an allowed request succeeds.
    expect(await statusOf(core.listNamespace())).toBe(200);
    expect(await statusOf(core.readNamespacedSecret({ namespace: NAMESPACE, name: secret }))).toBe(403);
    expect(await statusOf(core.listNamespacedSecret({ namespace: NAMESPACE }))).toBe(403);
    expect(await statusOf(core.listSecretForAllNamespaces())).toBe(403);
    // Nor may it delete what it only patches, or touch pods beyond reading them.
    expect(await statusOf(core.deleteNamespace({ name: NAMESPACE, dryRun: "All" }))).toBe(403);
    expect(
      await statusOf(
        core.createNamespacedPod({
          namespace: NAMESPACE,
          body: { metadata: { name: "intruder" }, spec: { containers: [{ name: "c", image: "busybox" }] } },
          dryRun: "All",
        }),
      ),
    ).toBe(403);
  });
});
