// The Helm chart against a real apiserver: `helm install` (the real Helm, built from its Go
// module) into a namespace of its own under a release name of its own, so every name and the
// ServiceAccount the write limits match are the templated ones, not deploy/'s. As in
// deploy.test.ts and least-privilege.test.ts, the Deployment's pods are kwok's stand-ins (no image
// runs here): the operator runs as a process with the chart ServiceAccount's token, on the
// chart's Lease, and a migration succeeds. Then `helm uninstall` leaves nothing behind but the CRD,
// which Helm never deletes (the MeshMigrations in it are the users').
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { goTool } from "../../scripts/tools/go-tools.ts";
import { DEFAULT_LEADER_ELECTION_ID } from "../../src/api/constants.ts";
import { mergePatchOptions } from "../../src/runtime/patch.ts";
import { createAppNamespace, livePods, meshOf, waitForAppsOn } from "../support/apps.ts";
import { installPolicyCrds } from "../support/crd.ts";
import { waitUntilNamespaceGone, writeTokenKubeconfig } from "../support/deploy.ts";
import { e2eClients, e2eKubeconfigPath, uniqueName } from "../support/kube.ts";
import { type KubectlResult, kubectl } from "../support/kubectl.ts";
import {
  applyMigration,
  deleteMigration,
  eventsOf,
  getMigration,
  kubectlWaitReady,
} from "../support/migrations.ts";
import { type OperatorProcess, RUN_ID, startOperator } from "../support/operator.ts";
import { waitFor } from "../support/wait.ts";

const CHART = resolve(import.meta.dirname, "../../charts/mesh-migration-operator");
const RELEASE = "mmo-helm";
const NAMESPACE = "mmo-helm-system";
/** The chart's names for a release that does not name the chart: "<release>-<chart>". */
const FULLNAME = `${RELEASE}-mesh-migration-operator`;
const SERVICE_ACCOUNT = FULLNAME;
const USERNAME = `system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}`;
/** Everything the chart creates carries its release (CRDs aside, which come from crds/). */
const RELEASE_SELECTOR = `app.kubernetes.io/instance=${RELEASE}`;
const CHART_KINDS = [
  "serviceaccounts",
  "deployments",
  "services",
  "poddisruptionbudgets",
  "roles",
  "rolebindings",
  "clusterroles",
  "clusterrolebindings",
  "validatingadmissionpolicies",
  "validatingadmissionpolicybindings",
].join(",");

const clients = e2eClients();
const workDir = mkdtempSync(join(tmpdir(), "mmo-helm-chart-"));
const operators: OperatorProcess[] = [];
const appNamespaces: string[] = [];
const migrations: string[] = [];

/** The real Helm: e2e suites are never skipped, so a Helm that cannot be built fails the suite. */
function helmPath(): string {
  const found = goTool("helm");
  if (!found.path) throw new Error(`the Helm chart suite needs helm: ${found.problem}`);
  return found.path;
}
const helm = helmPath();

function run(command: string, args: string[]): Promise<KubectlResult> {
  return new Promise((resolvePromise) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** helm against the e2e cluster, in the release's namespace. */
function helmRun(args: string[]): Promise<KubectlResult> {
  return run(helm, [...args, "--kubeconfig", e2eKubeconfigPath(), "--namespace", NAMESPACE]);
}

function tokenKubeConfig(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** The namespace as the chart's notes ask for it: restricted Pod Security Standard, never meshed. */
async function createReleaseNamespace(): Promise<void> {
  const previous = await clients.core.readNamespace({ name: NAMESPACE }).catch(() => undefined);
  if (previous?.status?.phase === "Terminating") await waitUntilNamespaceGone(clients, NAMESPACE);
  const namespace = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: NAMESPACE,
      labels: {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "istio-injection": "disabled",
      },
      annotations: { "linkerd.io/inject": "disabled" },
    },
  };
  const applied = await kubectl(["apply", "-f", "-"], JSON.stringify(namespace));
  if (applied.code !== 0) throw new Error(`creating namespace ${NAMESPACE} failed: ${applied.stderr}`);
}

/** What is left in the cluster of the release: "kind/name" lines. */
async function releaseObjects(): Promise<string[]> {
  const listed = await kubectl(["get", CHART_KINDS, "-A", "-l", RELEASE_SELECTOR, "-o", "name"]);
  if (listed.code !== 0) throw new Error(`kubectl get failed: ${listed.stderr}`);
  return listed.stdout.split("\n").filter((line) => line !== "");
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await kubectl(["get", "lease", "-n", NAMESPACE, DEFAULT_LEADER_ELECTION_ID, "-o", "json"]);
  if (lease.code !== 0) return undefined;
  return (JSON.parse(lease.stdout) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
}

beforeAll(async () => {
  // The mesh policy CRDs a meshed cluster has (the preflight watches them), as least-privilege does.
  await installPolicyCrds();
  await helmRun(["uninstall", RELEASE, "--wait", "--ignore-not-found"]);
  await createReleaseNamespace();
});

afterAll(async () => {
  for (const name of migrations) await deleteMigration(name, 60_000);
  for (const op of operators) await op.stop();
  for (const name of appNamespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
  await helmRun(["uninstall", RELEASE, "--wait", "--ignore-not-found"]);
  await kubectl(["delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false"]);
  await waitUntilNamespaceGone(clients, NAMESPACE).catch(() => undefined);
  rmSync(workDir, { recursive: true, force: true });
});

describe("the Helm chart, installed with helm install", () => {
  it("installs the CRD, the RBAC, the write limits and two replicas the restricted Pod Security Standard admits", async () => {
    const installed = await helmRun(["install", RELEASE, CHART, "--wait", "--timeout", "180s"]);
    expect(installed.code, installed.stderr).toBe(0);
    // The namespace enforces "restricted": a pod that broke it would be refused, not created.
    expect(installed.stderr).not.toMatch(/PodSecurity/);
    const established = await kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/meshmigrations.meshmigration.io",
    ]);
    expect(established.code, established.stderr).toBe(0);

    const pods = await livePods(clients, NAMESPACE);
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(meshOf(pod)).toBe("none");
      expect(pod.spec?.serviceAccountName).toBe(SERVICE_ACCOUNT);
      expect(pod.spec?.containers[0]?.image).toBe("mesh-migration-operator:0.1.0");
    }
    const budget = await kubectl(["get", "pdb", "-n", NAMESPACE, FULLNAME, "-o", "json"]);
    expect(JSON.parse(budget.stdout).spec.minAvailable).toBe(1);
    // The write limits hold this release's ServiceAccount, not deploy/'s.
    const policy = await kubectl([
      "get",
      "validatingadmissionpolicy",
      `${FULLNAME}-write-limits-namespaces`,
      "-o",
      "jsonpath={.spec.matchConditions[0].expression}",
    ]);
    expect(policy.stdout).toBe(`request.userInfo.username == '${USERNAME}'`);

    // The pods above are kwok's stand-ins; the operator runs as a process below. An upgrade to no
    // replicas keeps anything else from ever claiming the Lease (and drops the budget with them).
    const upgraded = await helmRun([
      "upgrade",
      RELEASE,
      CHART,
      "--reuse-values",
      "--set",
      "replicas=0",
      "--wait",
    ]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    await waitFor(async () => (await livePods(clients, NAMESPACE)).length === 0, {
      description: `the chart's pods in ${NAMESPACE} to go after the upgrade to 0 replicas`,
      timeoutMs: 60_000,
    });
  });

  it("migrates a namespace with nothing but the chart ServiceAccount's token, on the chart's Lease", async () => {
    const token = await kubectl(["create", "token", SERVICE_ACCOUNT, "-n", NAMESPACE, "--duration=1h"]);
    expect(token.code, token.stderr).toBe(0);
    const tokenKubeconfig = writeTokenKubeconfig(join(workDir, "operator.kubeconfig"), token.stdout.trim());
    const operator = await startOperator({
      identity: `${RUN_ID}-helm`,
      kubeconfigPath: tokenKubeconfig,
      args: [
        `--leader-election-namespace=${NAMESPACE}`,
        `--leader-election-id=${DEFAULT_LEADER_ELECTION_ID}`,
      ],
    });
    operators.push(operator);
    await waitFor(async () => (await leaseHolder()) === operator.identity, {
      description: `${operator.identity} to hold the Lease ${NAMESPACE}/${DEFAULT_LEADER_ELECTION_ID}`,
      timeoutMs: 60_000,
    });

    const app = uniqueName("helm-app");
    appNamespaces.push(app);
    await createAppNamespace(clients, app, {
      labels: { "istio-injection": "enabled" },
      deploymentOnly: true,
    });
    await waitForAppsOn(clients, app, "istio", 3);
    const name = uniqueName("helm-migration");
    migrations.push(name);
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [app] }],
      // Another suite's STRICT PeerAuthentication must not hold this back: the chart is the subject.
      strategy: { blockOnWarnings: false },
    });
    await kubectlWaitReady(name, 240);
    expect((await getMigration(clients, name)).status?.phase).toBe("Succeeded");
    await waitForAppsOn(clients, app, "linkerd", 3);
    // Its Events, through the chart's Role in "default".
    expect((await eventsOf(name)).map((e) => e.reason)).toContain("NamespaceVerified");

    // The chart's write limits hold the token to mesh markers: a merge patch of any other label,
    // which its RBAC allows, is refused by them.
    const asOperator = e2eClients(tokenKubeConfig(tokenKubeconfig));
    const relabel = asOperator.core.patchNamespace(
      { name: app, body: { metadata: { labels: { team: "someone-else" } } } },
      mergePatchOptions(),
    );
    await expect(relabel).rejects.toMatchObject({ code: 403 });
    await expect(relabel.catch((error: { body?: string }) => String(error.body))).resolves.toContain(
      `${USERNAME} may change only mesh markers`,
    );
  });

  it("uninstalls with helm uninstall: none of its objects are left, the CRD and its MeshMigrations are", async () => {
    for (const name of migrations.splice(0)) await deleteMigration(name, 60_000);
    for (const op of operators.splice(0)) await op.stop();
    const uninstalled = await helmRun(["uninstall", RELEASE, "--wait", "--timeout", "120s"]);
    expect(uninstalled.code, uninstalled.stderr).toBe(0);
    expect(await releaseObjects()).toEqual([]);
    const releases = await helmRun(["list", "--all", "-q"]);
    expect(releases.stdout.split("\n")).not.toContain(RELEASE);
    const crd = await kubectl(["get", "crd", "meshmigrations.meshmigration.io", "-o", "name"]);
    expect(crd.stdout.trim()).toBe(
      "customresourcedefinition.apiextensions.k8s.io/meshmigrations.meshmigration.io",
    );
  });
});
