// Least privilege, proven: the operator runs with nothing but the token of the ServiceAccount
// deploy/ installs, on the deployed Lease, with the real injectors, through every kind of work
// it does (forward, a gate, pause, rollback, a halt raised twice, guard repair and re-creation,
// deletion mid-migration, leader failover). The apiserver's audit log records each of its
// requests; the last test derives from it what the operator used and fails on any grant of
// deploy/ nothing used, any use deploy/ does not grant, and any refused request. In between, the
// same token is refused what it must never do (those probes carry their own User-Agent and are
// left out of the derivation).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  compare,
  deriveUses,
  grantsFor,
  isClean,
  parseAuditLog,
  report,
} from "../../scripts/rbac/evidence.ts";
import { DEFAULT_LEADER_ELECTION_ID } from "../../src/api/constants.ts";
import { GUARD_BINDING_NAME, GUARD_POLICY_NAME } from "../../src/controller/guard.ts";
import { readState } from "../cluster/local-cluster.ts";
import { createAppNamespace, livePods, meshOf, namespaceMetadata, waitForAppsOn } from "../support/apps.ts";
import { installCrd, installPolicyCrds } from "../support/crd.ts";
import {
  applyBaseObjects,
  baseObjectsOf,
  OPERATOR_NAMESPACE as NAMESPACE,
  operatorNamespaceUsable,
  operatorToken,
  RBAC_KINDS,
  renderedBase,
  SERVICE_ACCOUNT,
  WRITE_LIMIT_KINDS,
  writeTokenKubeconfig,
} from "../support/deploy.ts";
import { e2eClients, e2eKubeConfig, e2eKubeconfigPath, uniqueName } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import {
  applyMigration,
  condition,
  deleteMigration,
  getMigration,
  kubectlWaitReady,
  patchMigrationSpec,
  waitForMigration,
} from "../support/migrations.ts";
import { type OperatorProcess, RUN_ID, startOperator } from "../support/operator.ts";
import { ORIGINAL_KEY, OWNER_KEY } from "../support/snapshots.ts";
import { waitFor } from "../support/wait.ts";

const USERNAME = `system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}`;
/** The negative probes' User-Agent: refused on purpose, so not part of what the operator does. */
const PROBE_AGENT = "mmo-least-privilege-probe";
const ISTIO = { "istio-injection": "enabled" };
/** Another suite's STRICT PeerAuthentication must not hold these back: permissions are the subject. */
const UNBLOCKED = { blockOnWarnings: false };
const INSTALLED_KINDS = new Set([...RBAC_KINDS, ...WRITE_LIMIT_KINDS]);
const LEASE = [
  `--leader-election-namespace=${NAMESPACE}`,
  `--leader-election-id=${DEFAULT_LEADER_ELECTION_ID}`,
  "--leader-election-lease-duration=4s",
  "--leader-election-renew-deadline=3s",
  "--leader-election-retry-period=1s",
];

const clients = e2eClients();
const workDir = mkdtempSync(join(tmpdir(), "mmo-least-privilege-"));
const namespaces: string[] = [];
const migrations: string[] = [];
const operators: OperatorProcess[] = [];
let tokenKubeconfig: string;
let token: string;
let suiteStart: Date;

/** The local cluster's audit log (or E2E_AUDIT_LOG for another cluster's). */
function auditLogPath(): string | undefined {
  if (process.env.E2E_AUDIT_LOG) return process.env.E2E_AUDIT_LOG;
  return readState(dirname(e2eKubeconfigPath()))?.auditLog;
}

async function operator(name: string): Promise<OperatorProcess> {
  const started = await startOperator({
    identity: `${RUN_ID}-${name}`,
    kubeconfigPath: tokenKubeconfig,
    args: LEASE,
  });
  operators.push(started);
  return started;
}

async function leaseHolder(): Promise<string | undefined> {
  const found = await kubectl(["get", "lease", "-n", NAMESPACE, DEFAULT_LEADER_ELECTION_ID, "-o", "json"]);
  if (found.code !== 0) return undefined;
  return (JSON.parse(found.stdout) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
}

async function waitForLeader(op: OperatorProcess): Promise<void> {
  await waitFor(async () => (await leaseHolder()) === op.identity, {
    description: `${op.identity} to hold the Lease ${NAMESPACE}/${DEFAULT_LEADER_ELECTION_ID}`,
    timeoutMs: 60_000,
  });
}

async function appNamespace(prefix: string, deploymentOnly = true, labels = ISTIO): Promise<string> {
  const name = uniqueName(prefix);
  namespaces.push(name);
  await createAppNamespace(clients, name, { labels, deploymentOnly });
  return name;
}

function migrationName(prefix: string): string {
  const name = uniqueName(prefix);
  migrations.push(name);
  return name;
}

/**
 * One request with the operator's token and the probe User-Agent, straight to the apiserver;
 * resolves with the HTTP status and the response body.
 */
function probeFor(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const cluster = e2eKubeConfig().getCurrentCluster();
  if (!cluster) throw new Error("the e2e kubeconfig has no current cluster");
  const ca = cluster.caData ? Buffer.from(cluster.caData, "base64") : readFileSync(cluster.caFile ?? "");
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<{ status: number; body: string }>((resolvePromise, reject) => {
    const req = request(
      new URL(path, cluster.server),
      {
        method,
        ca,
        headers: {
          authorization: `Bearer ${token}`,
          "user-agent": PROBE_AGENT,
          ...(payload ? { "content-type": "application/json" } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** The HTTP status of a probe. */
async function probe(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return (await probeFor(method, path, body, headers)).status;
}

beforeAll(async () => {
  await installCrd();
  // The mesh policy CRDs a meshed cluster has: the preflight's informers watch them (without
  // them, lists answer 404 and nothing is watched).
  await installPolicyCrds();
  await operatorNamespaceUsable(clients);
  // The RBAC and the write limits that hold the token to the keys it owns, as deploy/ installs them.
  await applyBaseObjects(INSTALLED_KINDS);
  // The Lease is created by the operator itself, as on a fresh install.
  await kubectl(["delete", "lease", "-n", NAMESPACE, DEFAULT_LEADER_ELECTION_ID, "--ignore-not-found"]);
  token = await operatorToken();
  tokenKubeconfig = writeTokenKubeconfig(join(workDir, "operator.kubeconfig"), token);
  suiteStart = new Date();
});

afterAll(async () => {
  if (operators.every((op) => op.exited())) await operator("cleanup");
  for (const name of migrations) await deleteMigration(name, 60_000);
  for (const op of operators) await op.stop();
  for (const name of namespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
  // The RBAC kinds as applied, the namespace last (deploy.test.ts waits for it to go).
  await kubectl(
    ["delete", "-f", "-", "--ignore-not-found", "--wait=false"],
    await baseObjectsOf(INSTALLED_KINDS),
  );
  rmSync(workDir, { recursive: true, force: true });
});

describe("the operator with only its ServiceAccount's token", () => {
  let gated: { name: string; canary: string; wave: string } | undefined;

  it("leads on the deployed Lease, holds at a gate, pauses, and migrates on when the gate moves", async () => {
    const leader = await operator("a");
    await waitForLeader(leader);
    // A full namespace (Deployment, StatefulSet, DaemonSet) and a small one, Istio to Linkerd.
    const canary = await appNamespace("lp-canary", false);
    const wave = await appNamespace("lp-wave");
    await waitForAppsOn(clients, canary, "istio", 8);
    await waitForAppsOn(clients, wave, "istio", 3);
    const name = migrationName("lp-gated");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [
        { name: "canary", namespaces: [canary] },
        { name: "wave-1", namespaces: [wave] },
      ],
      stopAfterBatch: "canary",
      strategy: UNBLOCKED,
    });
    await kubectlWaitReady(name, 240);
    expect((await getMigration(clients, name)).status?.phase).toBe("Holding");
    await waitForAppsOn(clients, canary, "linkerd", 8);

    await patchMigrationSpec(name, { paused: true });
    await waitForMigration(clients, name, (m) => condition(m, "Paused")?.status === "True", "Paused=True");
    await patchMigrationSpec(name, { stopAfterBatch: null });
    await waitForMigration(clients, name, (m) => m.status?.phase === "Paused", "Paused after the gate moved");
    expect((await namespaceMetadata(clients, wave)).annotations[OWNER_KEY]).toBeUndefined();
    await patchMigrationSpec(name, { paused: false });
    await waitForMigration(clients, name, (m) => m.status?.phase === "Succeeded", "Succeeded", 240_000);
    await waitForAppsOn(clients, wave, "linkerd", 3);
    gated = { name, canary, wave };
  });

  it("halts on a conflicting marker, twice (the second Event a repeat), and resumes when it goes", async () => {
    if (!gated) throw new Error("the gated migration above did not complete");
    for (let round = 0; round < 2; round++) {
      await kubectl(["label", "namespace", gated.wave, "istio-injection=enabled"]);
      try {
        await waitForMigration(
          clients,
          gated.name,
          (m) => condition(m, "Degraded")?.reason === "ConflictingMeshMarkers",
          "Degraded ConflictingMeshMarkers",
        );
      } finally {
        await kubectl(["label", "namespace", gated.wave, "istio-injection-"]);
      }
      await kubectlWaitReady(gated.name);
    }
  });

  it("rolls every namespace back to Istio", async () => {
    if (!gated) throw new Error("the gated migration above did not complete");
    await patchMigrationSpec(gated.name, { rollback: true });
    await waitForMigration(
      clients,
      gated.name,
      (m) => m.status?.phase === "RolledBack",
      "RolledBack",
      240_000,
    );
    await waitForAppsOn(clients, gated.canary, "istio", 8);
    await waitForAppsOn(clients, gated.wave, "istio", 3);
    expect((await namespaceMetadata(clients, gated.canary)).labels["istio-injection"]).toBe("enabled");
  });

  it("repairs an edited guard and re-creates a deleted one, by name", async () => {
    const get = async (kind: string, name: string) => {
      const found = await kubectl(["get", kind, name, "-o", "json"]);
      return found.code === 0 ? (JSON.parse(found.stdout) as { spec: Record<string, unknown> }) : undefined;
    };
    await waitFor(() => get("validatingadmissionpolicybinding", GUARD_BINDING_NAME), {
      description: "the guard's binding",
    });
    const weakened = await kubectl([
      "patch",
      "validatingadmissionpolicybinding",
      GUARD_BINDING_NAME,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { validationActions: ["Warn"] } }),
    ]);
    expect(weakened.code, weakened.stderr).toBe(0);
    await waitFor(
      async () =>
        JSON.stringify(
          (await get("validatingadmissionpolicybinding", GUARD_BINDING_NAME))?.spec.validationActions,
        ) === '["Deny"]',
      { description: "the binding's Deny to be back" },
    );
    // Deleted: the operator's server-side apply creates them again (authorized as create, by name).
    for (const kind of ["validatingadmissionpolicy", "validatingadmissionpolicybinding"]) {
      const name = kind.endsWith("binding") ? GUARD_BINDING_NAME : GUARD_POLICY_NAME;
      const deleted = await kubectl(["delete", kind, name]);
      expect(deleted.code, deleted.stderr).toBe(0);
      await waitFor(() => get(kind, name), { description: `${kind} ${name} to be re-created` });
    }
  });

  it("deleted mid-migration, leaves no namespace between meshes and removes its bookkeeping", async () => {
    const ns = await appNamespace("lp-del");
    await waitForAppsOn(clients, ns, "istio", 3);
    const name = migrationName("lp-del");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [ns] }],
      strategy: UNBLOCKED,
    });
    await waitFor(async () => (await namespaceMetadata(clients, ns)).annotations[OWNER_KEY] === name, {
      description: `${ns} to be taken by ${name}`,
    });
    const deleted = await kubectl(["delete", "meshmigration", name, "--wait=false"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    await waitFor(
      async () =>
        (await kubectl(["get", "meshmigration", name, "--ignore-not-found", "-o", "name"])).stdout.trim() ===
        "",
      { description: `meshmigration ${name} to be gone`, timeoutMs: 180_000 },
    );
    const after = await namespaceMetadata(clients, ns);
    expect(after.annotations[OWNER_KEY]).toBeUndefined();
    expect(after.annotations[ORIGINAL_KEY]).toBeUndefined();
    // Back on Istio, or migrated to Linkerd: one mesh's marker, never both, never none.
    const onIstio = after.labels["istio-injection"] === "enabled";
    const onLinkerd = after.annotations["linkerd.io/inject"] === "enabled";
    expect(onIstio !== onLinkerd).toBe(true);
    await waitForAppsOn(clients, ns, onIstio ? "istio" : "linkerd", 3);
  });

  it("creates a waypoint for a move into ambient, and deletes it on rollback (under the write limits)", async () => {
    const ns = await appNamespace("lp-waypoint");
    await waitForAppsOn(clients, ns, "istio", 3);
    const name = migrationName("lp-waypoint");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "istio-ambient", waypoint: { name: "waypoint", create: true } },
      batches: [{ name: "all", namespaces: [ns] }],
      strategy: UNBLOCKED,
    });
    await kubectlWaitReady(name, 240);
    await waitForAppsOn(clients, ns, "istio-ambient", 3);
    expect((await namespaceMetadata(clients, ns)).labels["istio.io/use-waypoint"]).toBe("waypoint");
    await patchMigrationSpec(name, { rollback: true });
    await waitForMigration(clients, name, (m) => m.status?.phase === "RolledBack", "RolledBack", 240_000);
    await waitFor(
      async () =>
        (
          await kubectl(["get", "gateway", "-n", ns, "waypoint", "--ignore-not-found", "-o", "name"])
        ).stdout.trim() === "",
      { description: `the waypoint of ${ns} to be deleted` },
    );
  });

  it("fails over: a second replica takes the Lease when the leader is killed, and migrates", async () => {
    const [leader] = operators;
    if (!leader) throw new Error("no leader started");
    const follower = await operator("b");
    await waitFor(async () => (await leaseHolder()) === leader.identity, {
      description: "a to keep leading",
    });
    await leader.kill();
    await waitForLeader(follower);
    const ns = await appNamespace("lp-failover");
    await waitForAppsOn(clients, ns, "istio", 3);
    const name = migrationName("lp-failover");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [ns] }],
      strategy: UNBLOCKED,
    });
    await kubectlWaitReady(name, 240);
    expect((await livePods(clients, ns)).map(meshOf)).toEqual(["linkerd", "linkerd", "linkerd"]);
  });
});

describe("what the token cannot do (each a real request, refused with 403)", () => {
  const ADMISSION = "/apis/admissionregistration.k8s.io/v1";
  const DRY_RUN = "?dryRun=All";
  const otherPolicy = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: "not-the-guard" },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] },
        ],
      },
      validations: [{ expression: "false" }],
    },
  };
  const otherBinding = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: "not-the-guard" },
    spec: { policyName: "not-the-guard", validationActions: ["Deny"] },
  };

  it("is a valid token: a granted request answers 200", async () => {
    expect(await probe("GET", "/api/v1/namespaces")).toBe(200);
  });

  it("reads no Secrets and no ConfigMaps, anywhere", async () => {
    const secret = `lp-${RUN_ID}`;
    await clients.core.createNamespacedSecret({
      namespace: NAMESPACE,
      body: { metadata: { name: secret }, stringData: { password: "not for the operator" } },
    });
    expect(await probe("GET", `/api/v1/namespaces/${NAMESPACE}/secrets/${secret}`)).toBe(403);
    expect(await probe("GET", `/api/v1/namespaces/${NAMESPACE}/secrets`)).toBe(403);
    expect(await probe("GET", "/api/v1/secrets")).toBe(403);
    expect(await probe("GET", "/api/v1/configmaps")).toBe(403);
    expect(await probe("GET", "/api/v1/namespaces/default/configmaps/kube-root-ca.crt")).toBe(403);
  });

  it("cannot exec into, create or delete pods, nor mint tokens", async () => {
    const ns = namespaces[0] ?? "default";
    const [pod] = await livePods(clients, ns);
    const podPath = `/api/v1/namespaces/${ns}/pods`;
    expect(await probe("POST", `${podPath}/${pod?.metadata?.name}/exec?command=id&stdout=true`)).toBe(403);
    expect(await probe("GET", `${podPath}/${pod?.metadata?.name}/exec?command=id&stdout=true`)).toBe(403);
    expect(
      await probe("POST", `${podPath}${DRY_RUN}`, {
        metadata: { name: "intruder" },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      }),
    ).toBe(403);
    expect(await probe("DELETE", `${podPath}/${pod?.metadata?.name}${DRY_RUN}`)).toBe(403);
    expect(
      await probe("POST", `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${SERVICE_ACCOUNT}/token`, {
        spec: { audiences: [] },
      }),
    ).toBe(403);
  });

  it("creates or changes no admission policy but the guard's, and deletes not even the guard", async () => {
    const apply = { "content-type": "application/apply-patch+yaml" };
    const applyQuery = `${DRY_RUN}&fieldManager=intruder&force=true`;
    expect(await probe("POST", `${ADMISSION}/validatingadmissionpolicies${DRY_RUN}`, otherPolicy)).toBe(403);
    expect(
      await probe(
        "PATCH",
        `${ADMISSION}/validatingadmissionpolicies/not-the-guard${applyQuery}`,
        otherPolicy,
        apply,
      ),
    ).toBe(403);
    expect(
      await probe("POST", `${ADMISSION}/validatingadmissionpolicybindings${DRY_RUN}`, otherBinding),
    ).toBe(403);
    expect(
      await probe(
        "PATCH",
        `${ADMISSION}/validatingadmissionpolicybindings/not-the-guard${applyQuery}`,
        otherBinding,
        apply,
      ),
    ).toBe(403);
    // The guard's own name through POST: a create is authorized before the name is known.
    expect(
      await probe("POST", `${ADMISSION}/validatingadmissionpolicies${DRY_RUN}`, {
        ...otherPolicy,
        metadata: { name: GUARD_POLICY_NAME },
      }),
    ).toBe(403);
    expect(
      await probe("DELETE", `${ADMISSION}/validatingadmissionpolicies/${GUARD_POLICY_NAME}${DRY_RUN}`),
    ).toBe(403);
    expect(
      await probe("POST", `${ADMISSION}/mutatingwebhookconfigurations${DRY_RUN}`, {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "MutatingWebhookConfiguration",
        metadata: { name: "intruder" },
        webhooks: [],
      }),
    ).toBe(403);
    expect(
      await probe(
        "PATCH",
        `${ADMISSION}/mutatingwebhookconfigurations/istio-sidecar-injector${DRY_RUN}`,
        { metadata: { labels: { x: "y" } } },
        { "content-type": "application/merge-patch+json" },
      ),
    ).toBe(403);
  });

  it("cannot escalate, bind or impersonate", async () => {
    const rbac = "/apis/rbac.authorization.k8s.io/v1";
    expect(
      await probe("POST", `${rbac}/clusterrolebindings${DRY_RUN}`, {
        metadata: { name: "intruder" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ kind: "ServiceAccount", name: SERVICE_ACCOUNT, namespace: NAMESPACE }],
      }),
    ).toBe(403);
    expect(
      await probe("POST", `${rbac}/namespaces/${NAMESPACE}/rolebindings${DRY_RUN}`, {
        metadata: { name: "intruder" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" },
        subjects: [{ kind: "ServiceAccount", name: SERVICE_ACCOUNT, namespace: NAMESPACE }],
      }),
    ).toBe(403);
    expect(
      await probe(
        "PATCH",
        `${rbac}/clusterroles/mesh-migration-operator${DRY_RUN}`,
        { rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }] },
        { "content-type": "application/merge-patch+json" },
      ),
    ).toBe(403);
    expect(await probe("GET", "/api/v1/namespaces", undefined, { "impersonate-user": "admin" })).toBe(403);
    expect(
      await probe("GET", "/api/v1/namespaces", undefined, {
        "impersonate-user": "nobody",
        "impersonate-group": "system:masters",
      }),
    ).toBe(403);
  });
});

describe("what the token may patch: only the keys the operator owns (deploy/write-limits.yaml)", () => {
  const MERGE = { "content-type": "application/merge-patch+json" };
  const DRY_RUN = "?dryRun=All";
  const workloadNamespace = () => namespaces[0] ?? "default";
  const deploymentPath = () => `/apis/apps/v1/namespaces/${workloadNamespace()}/deployments/web${DRY_RUN}`;
  const namespacePath = () => `/api/v1/namespaces/${workloadNamespace()}${DRY_RUN}`;
  const refused = async (path: string, patch: unknown, naming: string) => {
    const answer = await probeFor("PATCH", path, patch, MERGE);
    expect(answer.status, answer.body).toBe(403);
    expect(answer.body).toContain(naming);
  };

  it("may change a namespace's mesh markers and its bookkeeping, and no other label or annotation", async () => {
    const allowed = await probeFor(
      "PATCH",
      namespacePath(),
      { metadata: { labels: { "istio-injection": "enabled" }, annotations: { [ORIGINAL_KEY]: "{}" } } },
      MERGE,
    );
    expect(allowed.status, allowed.body).toBe(200);
    await refused(
      namespacePath(),
      { metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } } },
      "pod-security.kubernetes.io/enforce",
    );
    await refused(
      namespacePath(),
      { metadata: { annotations: { "team.example.com/owner": "intruder" } } },
      "team.example.com/owner",
    );
  });

  it("may restart a workload and rewrite its mesh opt-ins, and change nothing else of it", async () => {
    const stampPatch = {
      spec: {
        template: {
          metadata: {
            annotations: { "meshmigration.io/restarted-for": "probe:forward:1:2026-01-01T00:00:00.000Z" },
          },
        },
      },
    };
    const allowed = await probeFor(
      "PATCH",
      deploymentPath(),
      {
        spec: {
          template: {
            metadata: {
              ...stampPatch.spec.template.metadata,
              labels: { "sidecar.istio.io/inject": "false" },
            },
          },
        },
      },
      MERGE,
    );
    expect(allowed.status, allowed.body).toBe(200);
    // A StatefulSet and a DaemonSet restart the same way (the apiserver bumps the DaemonSet's
    // deprecated.daemonset.template.generation annotation itself: allowed).
    for (const [resource, name] of [
      ["statefulsets", "db"],
      ["daemonsets", "agent"],
    ]) {
      const restarted = await probeFor(
        "PATCH",
        `/apis/apps/v1/namespaces/${workloadNamespace()}/${resource}/${name}${DRY_RUN}`,
        stampPatch,
        MERGE,
      );
      expect(restarted.status, `${resource}/${name}: ${restarted.body}`).toBe(200);
    }
    await refused(
      deploymentPath(),
      {
        spec: {
          template: { spec: { containers: [{ name: "web", image: "registry.example.com/intruder" }] } },
        },
      },
      "spec.template.spec",
    );
    await refused(deploymentPath(), { spec: { replicas: 0 } }, "spec.replicas");
    await refused(
      deploymentPath(),
      { spec: { template: { metadata: { labels: { intruder: "yes" } } } } },
      "intruder",
    );
    await refused(deploymentPath(), { metadata: { labels: { intruder: "yes" } } }, "metadata.labels");
  });

  it("may not change a MeshMigration's spec (its user's), only its own finalizer", async () => {
    const name = migrations[0];
    if (!name) throw new Error("no migration was created above");
    await refused(
      `/apis/meshmigration.io/v1alpha1/meshmigrations/${name}${DRY_RUN}`,
      { spec: { stopAfterBatch: "wave-1", strategy: { maxConcurrentNamespaces: 3 } } },
      "spec",
    );
  });

  it("cannot change or delete the write limits themselves", async () => {
    const path =
      "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/mesh-migration-operator-write-limits-namespaces";
    expect(await probe("PATCH", `${path}${DRY_RUN}`, { spec: { failurePolicy: "Ignore" } }, MERGE)).toBe(403);
    expect(await probe("DELETE", `${path}${DRY_RUN}`)).toBe(403);
  });
});

describe("RBAC from evidence", () => {
  it("deploy/ grants exactly what the audit log shows the operator used, and nothing was refused", async () => {
    const log = auditLogPath();
    if (!log || !existsSync(log)) {
      throw new Error(
        `no kube-apiserver audit log (${log ?? "the cluster is not the local one"}): the local cluster writes ` +
          "one (restart it with npm run cluster:down && npm run cluster:up if it predates it); " +
          "for another cluster set E2E_AUDIT_LOG",
      );
    }
    const derived = deriveUses(parseAuditLog(readFileSync(log, "utf8")), {
      username: USERNAME,
      since: suiteStart,
      excludeUserAgents: [PROBE_AGENT],
    });
    const { yaml } = await renderedBase();
    const manifests = parseAllDocuments(yaml).map((d) => d.toJS() as unknown);
    const comparison = compare(
      derived,
      grantsFor(manifests, { namespace: NAMESPACE, name: SERVICE_ACCOUNT }),
    );
    const text = report(derived, comparison);
    console.log(`[least-privilege] ${USERNAME}, audit log since ${suiteStart.toISOString()}:\n${text}`);
    expect(derived.uses.length).toBeGreaterThan(0);
    expect(isClean(comparison), text).toBe(true);
  });
});
