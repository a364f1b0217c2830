// Crash safety end to end: the operator is SIGKILLed at exact points of a
// migration (the test-only MMO_FAULT_KILL_AFTER hook), the cluster is checked at
// that instant, and a fresh operator, started without the fault, converges to the
// same end state a run without a crash reaches: nothing lost, nothing done twice.
// A killed leader's Lease must expire (15 s) before the next process leads.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppNamespace, livePods, meshOf, namespaceMetadata, waitForAppsOn } from "../support/apps.ts";
import { installCrd } from "../support/crd.ts";
import { e2eClients, uniqueName } from "../support/kube.ts";
import { applyMigration, getMigration, kubectlWaitReady, patchMigrationSpec } from "../support/migrations.ts";
import { type OperatorProcess, startOperator } from "../support/operator.ts";
import {
  deleteLease,
  deleteMigrationsWithin,
  edited,
  eventCount,
  expectRestartedOnce,
  ORIGINAL_KEY,
  OWNER_KEY,
  parseStamp,
  restartStamps,
  STAMP_KEY,
  type StringMap,
  TEMPLATE_ORIGINAL_KEY,
  withoutBookkeeping,
  withParsedOriginal,
} from "../support/snapshots.ts";
import { waitFor } from "../support/wait.ts";

const clients = e2eClients();
const createdNamespaces: string[] = [];
const createdMigrations: string[] = [];
const operators: OperatorProcess[] = [];

const ISTIO = { "istio-injection": "enabled" };
const LINKERD = { "linkerd.io/inject": "enabled" };
/** What every namespace here carries before the migration, as the operator must record it. */
const TRUE_ORIGINAL = { labels: ISTIO, annotations: {} };
/**
 * The preflight reads the whole cluster: a STRICT PeerAuthentication that another suite keeps in a
 * namespace staying on Istio would hold these migrations back. Crashes and failover are the subject here.
 */
const UNBLOCKED = { blockOnWarnings: false };

const TEMPLATE_OPT_IN = { "sidecar.istio.io/inject": "true" };

/** The web Deployment's pod-template labels and annotations (restart stamp aside) and its template-original record. */
async function webTemplate(namespace: string) {
  const web = await clients.apps.readNamespacedDeployment({ name: "web", namespace });
  const annotations = { ...(web.spec?.template.metadata?.annotations ?? {}) };
  delete annotations[STAMP_KEY];
  return {
    labels: web.spec?.template.metadata?.labels ?? {},
    annotations,
    record: web.metadata?.annotations?.[TEMPLATE_ORIGINAL_KEY],
  };
}

/** One namespace per scenario, created up front so their pods come up in parallel. */
interface AppNamespace {
  name: string;
  /** Pods once every workload is up: 3 (Deployment only) or 8 (Deployment, StatefulSet, DaemonSet). */
  pods: number;
  before: { labels: StringMap; annotations: StringMap };
}

const apps: Record<"recorded" | "relabelled" | "restarting" | "rollback", AppNamespace> = {
  recorded: { name: "", pods: 3, before: { labels: {}, annotations: {} } },
  relabelled: { name: "", pods: 3, before: { labels: {}, annotations: {} } },
  restarting: { name: "", pods: 8, before: { labels: {}, annotations: {} } },
  rollback: { name: "", pods: 8, before: { labels: {}, annotations: {} } },
};

async function operator(fault?: string): Promise<OperatorProcess> {
  const started = await startOperator(fault ? { env: { MMO_FAULT_KILL_AFTER: fault } } : {});
  operators.push(started);
  return started;
}

/** Waits for the fault hook to kill the process, and checks it died of that fault and nothing else. */
async function killedByFault(op: OperatorProcess, fault: string): Promise<void> {
  await waitFor(() => op.exited(), {
    description: `operator to kill itself after ${fault}`,
    timeoutMs: 90_000,
  });
  expect(op.child.signalCode).toBe("SIGKILL");
  const [reason, n] = fault.split("#");
  // The log file may still be catching up with the last line the process wrote before it died.
  await waitFor(
    () => readFileSync(op.logFile, "utf8").includes(`fault injection: SIGKILL after ${reason} #${n}`),
    {
      description: `the fault's last words in ${op.logFile}`,
      timeoutMs: 5_000,
    },
  );
}

function migrationName(prefix: string): string {
  const name = uniqueName(prefix);
  createdMigrations.push(name);
  return name;
}

async function applyIstioToLinkerd(name: string, namespace: string): Promise<void> {
  await applyMigration(name, {
    source: { mesh: "istio" },
    target: { mesh: "linkerd" },
    strategy: UNBLOCKED,
    batches: [{ name: "all", namespaces: [namespace] }],
  });
}

/** Namespace metadata after the forward relabel: istio's marker gone, linkerd's added, bookkeeping written. */
function forwardMetadata(app: AppNamespace, migration: string) {
  return {
    labels: edited(app.before.labels, { [OWNER_KEY]: migration }, ["istio-injection"]),
    annotations: edited(app.before.annotations, {
      ...LINKERD,
      [OWNER_KEY]: migration,
      [ORIGINAL_KEY]: TRUE_ORIGINAL,
    }),
  };
}

/**
 * The end state of a forward migration, whatever crashed on the way: Ready and Succeeded, every pod
 * on Linkerd, the namespace's labels and annotations exactly as expected (unrelated keys untouched,
 * the true original recorded once), and each workload restarted exactly once, by attempt 1.
 */
async function expectMigratedForward(
  app: AppNamespace,
  migration: string,
): Promise<Map<string, string | undefined>> {
  await kubectlWaitReady(migration, 180);
  expect((await getMigration(clients, migration)).status?.phase).toBe("Succeeded");
  await waitForAppsOn(clients, app.name, "linkerd", app.pods);

  expect(withParsedOriginal(await namespaceMetadata(clients, app.name))).toEqual(
    forwardMetadata(app, migration),
  );
  expect(await eventCount(migration, "OriginalRecorded", app.name)).toBe(1);
  expect(await eventCount(migration, "NamespaceRelabelled", app.name)).toBe(1);

  return expectRestartedOnce(clients, migration, app.name, "forward");
}

beforeAll(async () => {
  await installCrd();
  for (const [key, app] of Object.entries(apps)) {
    app.name = uniqueName(`crash-${key}`);
    createdNamespaces.push(app.name);
    await createAppNamespace(clients, app.name, {
      labels: ISTIO,
      deploymentOnly: app.pods === 3,
      // The rollback case also has a pod-template opt-in the forward step rewrites and records.
      ...(key === "rollback" ? { deploymentTemplate: { annotations: TEMPLATE_OPT_IN } } : {}),
    });
  }
  for (const app of Object.values(apps)) {
    await waitForAppsOn(clients, app.name, "istio", app.pods);
    app.before = await namespaceMetadata(clients, app.name);
  }
});

afterAll(async () => {
  // A MeshMigration's finalizer is removed by the operator: keep one running while they are deleted.
  if (operators.every((op) => op.exited())) await operator();
  await deleteMigrationsWithin(createdMigrations);
  for (const op of operators) await op.stop();
  await deleteLease(clients);
  for (const name of createdNamespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
});

describe("an operator killed with SIGKILL at any step, then restarted, converges with nothing lost", () => {
  it("after recording the original and before the relabel", async () => {
    const app = apps.recorded;
    const name = migrationName("crash-recorded");
    const faulty = await operator("OriginalRecorded#1");
    await applyIstioToLinkerd(name, app.name);
    await killedByFault(faulty, "OriginalRecorded#1");

    // At that instant: owner and original recorded, the namespace still on Istio, nothing restarted.
    expect(withParsedOriginal(await namespaceMetadata(clients, app.name))).toEqual({
      labels: edited(app.before.labels, { [OWNER_KEY]: name }),
      annotations: edited(app.before.annotations, {
        [OWNER_KEY]: name,
        [ORIGINAL_KEY]: TRUE_ORIGINAL,
      }),
    });
    expect([...(await restartStamps(clients, app.name)).values()]).toEqual([undefined]);

    const fresh = await operator();
    await expectMigratedForward(app, name);
    await fresh.stop();
  });

  it("after the relabel and before any restart", async () => {
    const app = apps.relabelled;
    const name = migrationName("crash-relabelled");
    const faulty = await operator("NamespaceRelabelled#1");
    await applyIstioToLinkerd(name, app.name);
    await killedByFault(faulty, "NamespaceRelabelled#1");

    // At that instant: relabelled in one step, original kept, no workload restarted, pods still on Istio.
    expect(withParsedOriginal(await namespaceMetadata(clients, app.name))).toEqual(
      forwardMetadata(app, name),
    );
    expect([...(await restartStamps(clients, app.name)).values()]).toEqual([undefined]);
    expect((await livePods(clients, app.name)).map(meshOf)).toEqual(["istio", "istio", "istio"]);

    const fresh = await operator();
    await expectMigratedForward(app, name);
    await fresh.stop();
  });

  it("during the restarts: some workloads restarted, others not", async () => {
    const app = apps.restarting;
    const name = migrationName("crash-restarting");
    const faulty = await operator("WorkloadRestarted#1");
    await applyIstioToLinkerd(name, app.name);
    await killedByFault(faulty, "WorkloadRestarted#1");

    // At that instant: exactly one of the three workloads carries this step's stamp.
    expect(withParsedOriginal(await namespaceMetadata(clients, app.name))).toEqual(
      forwardMetadata(app, name),
    );
    const atKill = await restartStamps(clients, app.name);
    expect(atKill.size).toBe(3);
    const stamped = [...atKill].filter(([, stamp]) => stamp !== undefined);
    expect(stamped).toHaveLength(1);
    const [restartedRef, restartedStamp] = stamped[0] ?? [];
    expect(parseStamp(restartedStamp)).toMatchObject({ migration: name, direction: "forward", attempt: 1 });

    const fresh = await operator();
    const stamps = await expectMigratedForward(app, name);
    // The workload restarted before the crash was not restarted again: its stamp is the same one.
    expect(stamps.get(restartedRef ?? "")).toBe(restartedStamp);
    await fresh.stop();
  });

  it("during a rollback: after the namespace is restored, and again between rollback restarts", async () => {
    const app = apps.rollback;
    const name = migrationName("crash-rollback");
    const templateBefore = await webTemplate(app.name);
    expect(templateBefore.annotations).toEqual(TEMPLATE_OPT_IN);
    const forward = await operator();
    await applyIstioToLinkerd(name, app.name);
    const forwardStamps = await expectMigratedForward(app, name);
    // The forward step rewrote the opt-in and recorded what it was.
    const rewritten = await webTemplate(app.name);
    expect(rewritten.annotations).toEqual({ "linkerd.io/inject": "enabled" });
    expect(JSON.parse(rewritten.record ?? "null")).toMatchObject({ annotations: TEMPLATE_OPT_IN });
    await forward.stop();

    const restoring = await operator("NamespaceRestored#1");
    await patchMigrationSpec(name, { rollback: true });
    await killedByFault(restoring, "NamespaceRestored#1");
    // At that instant: every mesh label and annotation is back to the original, nothing restarted back yet.
    const restored = await namespaceMetadata(clients, app.name);
    expect(withoutBookkeeping(restored.labels)).toEqual(withoutBookkeeping(app.before.labels));
    expect(withoutBookkeeping(restored.annotations)).toEqual(withoutBookkeeping(app.before.annotations));
    expect(Object.fromEntries(await restartStamps(clients, app.name))).toEqual(
      Object.fromEntries(forwardStamps),
    );
    expect(await webTemplate(app.name)).toEqual(rewritten);

    // Workloads restart in name order (daemonset/agent, deployment/web, statefulset/db): killed after the
    // second, the web template is restored and its record dropped in that same patch; db is still forward.
    const restarting = await operator("WorkloadRestarted#2");
    await killedByFault(restarting, "WorkloadRestarted#2");
    const atKill = await restartStamps(clients, app.name);
    const rolledBackAtKill = [...atKill].filter(([, stamp]) => parseStamp(stamp)?.direction === "rollback");
    expect(rolledBackAtKill.map(([ref]) => ref).sort()).toEqual(["daemonset/agent", "deployment/web"]);
    for (const [, stamp] of rolledBackAtKill) {
      expect(parseStamp(stamp)).toMatchObject({ migration: name, attempt: 1 });
    }
    expect(atKill.get("statefulset/db")).toBe(forwardStamps.get("statefulset/db"));
    expect(await webTemplate(app.name)).toEqual({ ...templateBefore, record: undefined });

    const fresh = await operator();
    await kubectlWaitReady(name, 180);
    const migration = await getMigration(clients, name);
    expect(migration.status?.phase).toBe("RolledBack");
    await waitForAppsOn(clients, app.name, "istio", app.pods);

    // Back to the original exactly, the operator's own bookkeeping keys aside; the template too.
    const after = await namespaceMetadata(clients, app.name);
    expect(withoutBookkeeping(after.labels)).toEqual(withoutBookkeeping(app.before.labels));
    expect(withoutBookkeeping(after.annotations)).toEqual(withoutBookkeeping(app.before.annotations));
    expect(await eventCount(name, "NamespaceRestored", app.name)).toBe(1);
    expect(await webTemplate(app.name)).toEqual({ ...templateBefore, record: undefined });

    // Each workload restarted back exactly once; the ones restarted before the crash not again.
    const stamps = await expectRestartedOnce(clients, name, app.name, "rollback");
    for (const [ref, stamp] of rolledBackAtKill) expect(stamps.get(ref)).toBe(stamp);
    await fresh.stop();
  });
});
