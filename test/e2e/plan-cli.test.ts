// `mesh-migration-operator plan` end to end: the CLI runs as a child process, the way a user runs
// it before installing the operator, against a real apiserver holding namespaces, workloads and
// the Istio and Linkerd policy objects (their CRDs stand in for the meshes' own). It must report
// every cross-mesh problem with its fix, exit 0, 1 or 2 as documented, and change nothing.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { V1Deployment } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MigrationOutline, MigrationWarning } from "../../src/api/schema.ts";
import { waitForEmulators } from "../emulators/control.ts";
import { createAppNamespace } from "../support/apps.ts";
import { installCrd, installPolicyCrds } from "../support/crd.ts";
import { e2eClients, e2eKubeconfigPath, uniqueName } from "../support/kube.ts";
import { waitFor } from "../support/wait.ts";

const clients = e2eClients();
const { core, apps, custom } = clients;
const BIN = resolve(import.meta.dirname, "../../bin/mesh-migration-operator.js");
const INBOUND_POLICY = "config.linkerd.io/default-inbound-policy";

const workDir = mkdtempSync(join(tmpdir(), "plan-cli-"));
const createdNamespaces: string[] = [];
// Leaves Istio for Linkerd: workloads, a deny default inbound policy and a MeshTLS-only Server.
const moving = uniqueName("plan-move");
// Stays in Istio: STRICT mTLS and an AuthorizationPolicy naming the moving workloads.
const staying = uniqueName("plan-stay");
// Unmeshed, with nothing in its way: onboarding it to ambient is clean.
const clean = uniqueName("plan-clean");
// Unmeshed, with an AuthorizationPolicy on HTTP methods that ztunnel would make deny-all.
const l7 = uniqueName("plan-l7");

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<CliResult> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

let fileCount = 0;
function manifestFile(spec: Record<string, unknown>, name = "plan-check"): string {
  const file = join(workDir, `migration-${++fileCount}.yaml`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "meshmigration.io/v1alpha1",
      kind: "MeshMigration",
      metadata: { name },
      spec,
    }),
  );
  return file;
}

async function plan(spec: Record<string, unknown>, output = "json"): Promise<CliResult> {
  return runCli(["plan", "-f", manifestFile(spec), "--kubeconfig", e2eKubeconfigPath(), "--output", output]);
}

function parsePlan(result: CliResult): MigrationOutline {
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as MigrationOutline;
}

const ISTIO_TO_LINKERD = {
  source: { mesh: "istio" },
  target: { mesh: "linkerd" },
  batches: [{ name: "canary", namespaces: [moving] }],
};
const CLEAN_TO_AMBIENT = {
  source: { mesh: "none" },
  target: { mesh: "istio-ambient" },
  batches: [{ name: "onboard", namespaces: [clean] }],
};

async function createPolicy(group: string, version: string, plural: string, namespace: string, body: object) {
  await custom.createNamespacedCustomObject({ group, version, plural, namespace, body });
}

function settled(d: V1Deployment): boolean {
  const s = d.status;
  const replicas = d.spec?.replicas ?? 1;
  const progressing = s?.conditions?.find((c) => c.type === "Progressing");
  return (
    (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
    (s?.updatedReplicas ?? 0) === replicas &&
    (s?.readyReplicas ?? 0) === replicas &&
    (s?.availableReplicas ?? 0) === replicas &&
    progressing?.reason === "NewReplicaSetAvailable"
  );
}

/** Every resourceVersion the CLI could have touched: namespaces, workloads, pods and policies. */
async function resourceVersions(): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const namespace of [moving, staying, clean]) {
    const ns = await core.readNamespace({ name: namespace });
    versions[`namespace/${namespace}`] = ns.metadata?.resourceVersion ?? "";
    for (const d of (await apps.listNamespacedDeployment({ namespace })).items) {
      versions[`deployment/${namespace}/${d.metadata?.name}`] = d.metadata?.resourceVersion ?? "";
    }
    for (const p of (await core.listNamespacedPod({ namespace })).items) {
      versions[`pod/${namespace}/${p.metadata?.name}`] = p.metadata?.resourceVersion ?? "";
    }
  }
  const policies = [
    ["security.istio.io", "v1", "peerauthentications"],
    ["security.istio.io", "v1", "authorizationpolicies"],
    ["policy.linkerd.io", "v1beta3", "servers"],
    ["policy.linkerd.io", "v1alpha1", "authorizationpolicies"],
    ["policy.linkerd.io", "v1alpha1", "meshtlsauthentications"],
  ] as const;
  for (const [group, version, plural] of policies) {
    for (const namespace of [moving, staying]) {
      const list = (await custom.listNamespacedCustomObject({ group, version, plural, namespace })) as {
        items: Array<{ metadata: { name: string; resourceVersion: string } }>;
      };
      for (const item of list.items) {
        versions[`${plural}.${group}/${namespace}/${item.metadata.name}`] = item.metadata.resourceVersion;
      }
    }
  }
  return versions;
}

let before: Record<string, string>;

beforeAll(async () => {
  await installCrd();
  await installPolicyCrds();
  await waitForEmulators(clients.kc, { timeoutMs: 120_000 });

  createdNamespaces.push(moving, staying, clean, l7);
  await createAppNamespace(clients, moving, {
    labels: { "istio-injection": "enabled" },
    annotations: { [INBOUND_POLICY]: "deny" },
    deploymentOnly: true,
  });
  await createAppNamespace(clients, clean, { deploymentOnly: true });
  await createAppNamespace(clients, l7, { deploymentOnly: true });
  await core.createNamespace({
    body: { metadata: { name: staying, labels: { "istio-injection": "enabled" } } },
  });

  // Workloads the target will not take; scaled to zero, since only their templates matter.
  for (const [name, spec] of [
    ["hostnet", { hostNetwork: true }],
    ["tokenless", { automountServiceAccountToken: false }],
  ] as const) {
    await apps.createNamespacedDeployment({
      namespace: moving,
      body: {
        metadata: { name },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { ...spec, containers: [{ name: "app", image: "registry.example/shop/app:1.0" }] },
          },
        },
      },
    });
  }
  // A bare pod: nobody can restart it. Pods wait for the namespace's default ServiceAccount.
  await waitFor(
    () => core.readNamespacedServiceAccount({ name: "default", namespace: moving }).then(() => true),
    {
      timeoutMs: 30_000,
      description: `the default ServiceAccount in ${moving}`,
    },
  );
  await core.createNamespacedPod({
    namespace: moving,
    body: {
      metadata: { name: "debug" },
      spec: { containers: [{ name: "debug", image: "registry.example/tools/debug:1.0" }] },
    },
  });

  await createPolicy("security.istio.io", "v1", "peerauthentications", staying, {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name: "strict" },
    spec: { mtls: { mode: "STRICT" } },
  });
  await createPolicy("security.istio.io", "v1", "authorizationpolicies", staying, {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name: "allow-movers" },
    spec: {
      action: "ALLOW",
      rules: [{ from: [{ source: { principals: [`cluster.local/ns/${moving}/sa/default`] } }] }],
    },
  });
  await createPolicy("security.istio.io", "v1", "authorizationpolicies", l7, {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name: "get-only" },
    spec: { action: "ALLOW", rules: [{ to: [{ operation: { methods: ["GET"] } }] }] },
  });
  await createPolicy("policy.linkerd.io", "v1beta3", "servers", moving, {
    apiVersion: "policy.linkerd.io/v1beta3",
    kind: "Server",
    metadata: { name: "web-http" },
    spec: { podSelector: { matchLabels: { app: "web" } }, port: 8080, proxyProtocol: "HTTP/1" },
  });
  await createPolicy("policy.linkerd.io", "v1alpha1", "meshtlsauthentications", moving, {
    apiVersion: "policy.linkerd.io/v1alpha1",
    kind: "MeshTLSAuthentication",
    metadata: { name: "web-clients" },
    spec: { identities: [`frontend.${staying}.serviceaccount.identity.linkerd.cluster.local`] },
  });
  await createPolicy("policy.linkerd.io", "v1alpha1", "authorizationpolicies", moving, {
    apiVersion: "policy.linkerd.io/v1alpha1",
    kind: "AuthorizationPolicy",
    metadata: { name: "web-authn" },
    spec: {
      targetRef: { group: "policy.linkerd.io", kind: "Server", name: "web-http" },
      requiredAuthenticationRefs: [
        { group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: "web-clients" },
      ],
    },
  });

  // Settled: the controllers have nothing left to write, so any later change would be ours.
  await waitFor(
    async () => {
      const lists = await Promise.all(
        [moving, clean].map((namespace) => apps.listNamespacedDeployment({ namespace })),
      );
      const pods = await core.listNamespacedPod({ namespace: moving });
      const debugRunning = pods.items.some(
        (p) => p.metadata?.name === "debug" && p.status?.phase === "Running",
      );
      return debugRunning && lists.every((list) => list.items.length > 0 && list.items.every(settled));
    },
    { timeoutMs: 180_000, description: "the sample workloads to finish rolling out" },
  );
  before = await resourceVersions();
});

afterAll(async () => {
  for (const name of createdNamespaces) await core.deleteNamespace({ name }).catch(() => undefined);
  rmSync(workDir, { recursive: true, force: true });
});

function about(warnings: MigrationWarning[], code: string, namespace?: string): MigrationWarning | undefined {
  return warnings.find((w) => w.code === code && (namespace === undefined || w.namespace === namespace));
}

describe("mesh-migration-operator plan", () => {
  it("reports every cross-mesh problem with its fix and exits 2 when they block", async () => {
    const result = await plan(ISTIO_TO_LINKERD);
    expect(result.code).toBe(2);
    const outline = parsePlan(result);
    expect(outline.blocked).toBe(true);
    const { warnings } = outline;

    const strict = about(warnings, "IstioStrictMTLS", staying);
    expect(strict?.severity).toBe("Blocking");
    expect(strict?.message).toContain(`PeerAuthentication ${staying}/strict`);
    expect(strict?.message).toContain("PERMISSIVE");

    const principals = about(warnings, "IstioAuthorizationPolicyPrincipals", staying);
    expect(principals?.message).toContain(`AuthorizationPolicy ${staying}/allow-movers`);
    expect(principals?.message).toContain(`default.${moving}.serviceaccount.identity.linkerd.cluster.local`);

    const inbound = about(warnings, "LinkerdDefaultInboundPolicy", moving);
    expect(inbound?.severity).toBe("Blocking");
    expect(inbound?.message).toContain(`${INBOUND_POLICY}: deny`);

    const server = about(warnings, "LinkerdServerRequiresMeshTLS", moving);
    expect(server?.message).toContain(`Server ${moving}/web-http`);
    expect(server?.message).toContain(`MeshTLSAuthentication ${moving}/web-clients`);

    // The emulated Linkerd installs its injector webhook with Linkerd's default, Ignore.
    expect(about(warnings, "InjectorFailurePolicyIgnore")?.message).toContain(
      "linkerd-proxy-injector-webhook-config",
    );
    expect(about(warnings, "HostNetworkWorkload", moving)?.message).toContain("deployment/hostnet");
    expect(about(warnings, "NoServiceAccountToken", moving)?.message).toContain("deployment/tokenless");
  });

  it("outlines the namespace change, the restarts and the pods nobody can restart", async () => {
    const outline = parsePlan(await plan(ISTIO_TO_LINKERD));
    const [batch] = outline.batches;
    expect(batch?.name).toBe("canary");
    const ns = batch?.namespaces[0];
    expect(ns).toMatchObject({ name: moving, exists: true, meshes: ["istio"] });
    expect(ns?.changes.at(-1)).toMatchObject({
      labels: ["istio-injection-"],
      annotations: ["linkerd.io/inject=enabled"],
    });
    expect(ns?.restartWaves).toEqual([["deployment/web"]]);
    expect(ns?.notRestarted.map((skip) => skip.workload).sort()).toEqual([
      "deployment/hostnet",
      "deployment/tokenless",
    ]);
    expect(ns?.unmanagedPods).toEqual(["debug"]);
    expect(outline.blockers).toEqual([]);
  });

  it("prints a readable table with the warnings and their fixes", async () => {
    const result = await plan(ISTIO_TO_LINKERD, "table");
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("Plan for MeshMigration plan-check: istio → linkerd");
    expect(result.stdout).toMatch(new RegExp(`canary\\s+${moving}\\s+istio\\s+1\\s+1\\s+istio-injection-`));
    expect(result.stdout).toContain("wave 1: deployment/web");
    expect(result.stdout).toContain(`BLOCKING IstioStrictMTLS [${staying}]`);
    expect(result.stdout).toContain("Fix:");
    expect(result.stdout).toContain("Result: BLOCKED");
  });

  it("exits 0 when nothing stops the migration", async () => {
    const result = await plan(CLEAN_TO_AMBIENT);
    expect(result.code).toBe(0);
    const outline = parsePlan(result);
    expect(outline.blocked).toBe(false);
    expect(outline.warnings.filter((w) => w.severity === "Blocking")).toEqual([]);
    const ns = outline.batches[0]?.namespaces[0];
    expect(ns?.changes.at(-1)?.labels).toEqual(["istio.io/dataplane-mode=ambient"]);
    expect(ns?.restartWaves).toEqual([]);
  });

  it("blocks a move into ambient on an HTTP AuthorizationPolicy ztunnel would make deny-all, waypoint or not", async () => {
    const toAmbient = { ...CLEAN_TO_AMBIENT, batches: [{ name: "l7", namespaces: [l7] }] };
    for (const target of [
      CLEAN_TO_AMBIENT.target,
      { mesh: "istio-ambient", waypoint: { name: "waypoint", create: true } },
    ]) {
      const result = await plan({ ...toAmbient, target });
      expect(result.code).toBe(2);
      const found = about(parsePlan(result).warnings, "IstioAmbientL7AuthorizationPolicy", l7);
      expect(found?.severity).toBe("Blocking");
      expect(found?.message).toContain(
        `AuthorizationPolicy ${l7}/get-only (every workload of namespace ${l7})`,
      );
      expect(found?.message).toContain("denies all traffic to these workloads");
      expect(found?.message).toContain("blockOnWarnings: false");
    }
  });

  it("exits 2 on a blocker alone (a namespace that does not exist)", async () => {
    const missing = uniqueName("plan-missing");
    const result = await plan({
      ...CLEAN_TO_AMBIENT,
      batches: [{ name: "onboard", namespaces: [clean, missing] }],
    });
    expect(result.code).toBe(2);
    expect(parsePlan(result).blockers).toEqual([
      expect.objectContaining({ reason: "NamespaceNotFound", namespace: missing }),
    ]);
  });

  it("exits 1 on bad input or an unreachable cluster, with a clear message", async () => {
    const invalid = await plan({ ...ISTIO_TO_LINKERD, target: { mesh: "istio" } });
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toBe("");
    expect(invalid.stderr).toContain("is not a valid MeshMigration");
    expect(invalid.stderr).toContain("spec.source and spec.target must differ");

    const absent = await runCli([
      "plan",
      "-f",
      join(workDir, "absent.yaml"),
      "--kubeconfig",
      e2eKubeconfigPath(),
    ]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain("cannot read");

    const deadKubeconfig = join(workDir, "dead-kubeconfig");
    writeFileSync(
      deadKubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "dead", cluster: { server: "https://127.0.0.1:9" } }],
        contexts: [{ name: "dead", context: { cluster: "dead", user: "nobody" } }],
        users: [{ name: "nobody", user: {} }],
        "current-context": "dead",
      }),
    );
    const unreachable = await runCli([
      "plan",
      "-f",
      manifestFile(ISTIO_TO_LINKERD),
      "--kubeconfig",
      deadKubeconfig,
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain("cannot list");

    const usage = await runCli(["plan"]);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain("Usage:");
  });

  it("changed nothing in the cluster", async () => {
    expect(await resourceVersions()).toEqual(before);
  });
});
