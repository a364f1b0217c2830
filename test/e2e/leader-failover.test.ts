// Leader election between real operator processes sharing one Lease: exactly one
// leads and only the leader writes; when the leader dies mid-migration (SIGKILL)
// the follower takes the Lease once it expires and finishes the migration with
// no step done twice; when the leader stops gracefully it releases the Lease and
// the follower takes over at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppNamespace, namespaceMetadata, waitForAppsOn } from "../support/apps.ts";
import { installCrd } from "../support/crd.ts";
import { e2eClients, uniqueName } from "../support/kube.ts";
import { applyMigration, getMigration, kubectlWaitReady } from "../support/migrations.ts";
import { type OperatorProcess, RUN_ID, startOperator } from "../support/operator.ts";
import {
  actionLines,
  deleteLease,
  deleteMigrationsWithin,
  edited,
  eventCount,
  expectRestartedOnce,
  leaderStatus,
  logLines,
  ORIGINAL_KEY,
  OWNER_KEY,
  readLease,
  type StringMap,
  withParsedOriginal,
} from "../support/snapshots.ts";
import { waitFor } from "../support/wait.ts";

const clients = e2eClients();
const createdNamespaces: string[] = [];
const createdMigrations: string[] = [];
const operators: OperatorProcess[] = [];

const ISTIO = { "istio-injection": "enabled" };
/**
 * The preflight reads the whole cluster: a STRICT PeerAuthentication that another suite keeps in a
 * namespace staying on Istio would hold these migrations back. Crashes and failover are the subject here.
 */
const UNBLOCKED = { blockOnWarnings: false };
/**
 * A deadline, not a measurement: that the handover did not wait for the Lease to expire is read
 * from the follower's log (no "the lease expired" takeover); its speed is a benchmark's business.
 */
const HANDOVER_DEADLINE_MS = 60_000;

async function operator(name: string, env: Record<string, string> = {}): Promise<OperatorProcess> {
  const started = await startOperator({ identity: `${RUN_ID}-${name}`, env });
  operators.push(started);
  return started;
}

async function appNamespace(prefix: string, deploymentOnly: boolean): Promise<AppNamespace> {
  const name = uniqueName(prefix);
  createdNamespaces.push(name);
  await createAppNamespace(clients, name, { labels: ISTIO, deploymentOnly });
  const pods = deploymentOnly ? 3 : 8;
  await waitForAppsOn(clients, name, "istio", pods);
  return { name, pods, before: await namespaceMetadata(clients, name) };
}

/** Waits until the follower's elector has seen who leads, so it is really competing. */
async function followerSees(follower: OperatorProcess, leader: OperatorProcess): Promise<void> {
  await waitFor(
    () =>
      logLines(follower.logFile).some(
        (line) => line.msg === "new leader observed" && line.leader === leader.identity,
      ),
    { description: `${follower.identity} to see ${leader.identity} leading`, timeoutMs: 30_000 },
  );
}

/** The leader's metrics say it leads, the follower's that it does not, and the Lease names the leader. */
async function expectSoleLeader(leader: OperatorProcess, follower: OperatorProcess) {
  const lease = await readLease(clients);
  expect(lease?.holder).toBe(leader.identity);
  expect(await leaderStatus(leader.healthPort())).toBe(1);
  expect(await leaderStatus(follower.healthPort())).toBe(0);
  expect(actionLines(follower.logFile)).toEqual([]);
  return lease as NonNullable<typeof lease>;
}

interface AppNamespace {
  name: string;
  pods: number;
  before: { labels: StringMap; annotations: StringMap };
}

/** Namespace metadata after the relabel: Istio's marker gone, Linkerd's added, owner and true original recorded. */
async function expectRelabelled(migration: string, app: AppNamespace) {
  expect(withParsedOriginal(await namespaceMetadata(clients, app.name))).toEqual({
    labels: edited(app.before.labels, { [OWNER_KEY]: migration }, ["istio-injection"]),
    annotations: edited(app.before.annotations, {
      "linkerd.io/inject": "enabled",
      [OWNER_KEY]: migration,
      [ORIGINAL_KEY]: { labels: ISTIO, annotations: {} },
    }),
  });
}

/** Every pod on Linkerd, the namespace relabelled with the true original recorded once, one restart each. */
async function expectMigrated(migration: string, app: AppNamespace) {
  await waitForAppsOn(clients, app.name, "linkerd", app.pods);
  await expectRelabelled(migration, app);
  expect(await eventCount(migration, "OriginalRecorded", app.name)).toBe(1);
  expect(await eventCount(migration, "NamespaceRelabelled", app.name)).toBe(1);
  await expectRestartedOnce(clients, migration, app.name, "forward");
}

function migrationName(prefix: string): string {
  const name = uniqueName(prefix);
  createdMigrations.push(name);
  return name;
}

beforeAll(async () => {
  await installCrd();
});

afterAll(async () => {
  // A MeshMigration's finalizer is removed by the operator: keep one running while they are deleted.
  if (operators.every((op) => op.exited())) await operator("cleanup");
  await deleteMigrationsWithin(createdMigrations);
  for (const op of operators) await op.stop();
  await deleteLease(clients);
  for (const name of createdNamespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
});

describe("two operators on one Lease", () => {
  it("one leads and only it writes; killed mid-migration, the follower takes the Lease and finishes", async () => {
    const first = await appNamespace("failover-a", true);
    const second = await appNamespace("failover-b", true);

    // The leader carries the fault: it SIGKILLs itself right after its first relabel.
    const leader = await operator("a", { MMO_FAULT_KILL_AFTER: "NamespaceRelabelled#1" });
    await waitFor(async () => (await readLease(clients))?.holder === leader.identity, {
      description: `${leader.identity} to hold the Lease`,
      timeoutMs: 30_000,
    });
    const follower = await operator("b");
    await followerSees(follower, leader);
    const before = await expectSoleLeader(leader, follower);

    const name = migrationName("failover");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      strategy: UNBLOCKED,
      batches: [{ name: "all", namespaces: [first.name, second.name] }],
    });
    await waitFor(() => leader.exited(), { description: "the leader to be killed", timeoutMs: 90_000 });
    expect(leader.child.signalCode).toBe("SIGKILL");

    // At that instant: the first namespace relabelled, the second untouched; the leader did both writes,
    // the follower none.
    await expectRelabelled(name, first);
    expect(await namespaceMetadata(clients, second.name)).toEqual(second.before);
    // (The log file may still be catching up with the last lines the process wrote before it died.)
    const leaderWrites = await waitFor(
      () => {
        const lines = actionLines(leader.logFile).map((line) => [line.action, line.namespace]);
        return lines.length >= 2 ? lines : undefined;
      },
      { description: "the killed leader's log", timeoutMs: 5_000 },
    );
    expect(leaderWrites).toEqual([
      ["RecordOriginal", first.name],
      ["Relabel", first.name],
    ]);
    expect(actionLines(follower.logFile)).toEqual([]);
    expect((await readLease(clients))?.holder).toBe(leader.identity);

    // The follower waits out the dead leader's Lease, then takes it: one more transition.
    const after = await waitFor(
      async () => {
        const lease = await readLease(clients);
        return lease?.holder === follower.identity ? lease : undefined;
      },
      { description: `${follower.identity} to take over the Lease`, timeoutMs: 60_000 },
    );
    expect(after.transitions).toBe(before.transitions + 1);
    expect(await leaderStatus(follower.healthPort())).toBe(1);

    // The namespace the dead leader left half-done is finished by the new one, and no step is redone:
    // it never recorded or relabelled the first namespace again, only restarted its workload.
    await expectMigrated(name, first);
    const written = actionLines(follower.logFile);
    expect(written.some((line) => line.action === "RestartWorkload" && line.namespace === first.name)).toBe(
      true,
    );
    expect(
      written.filter((line) => line.namespace === first.name && line.action !== "RestartWorkload"),
    ).toEqual([]);

    // The second namespace of the batch starts once the first is migrated (maxConcurrentNamespaces 1).
    await kubectlWaitReady(name, 90);
    expect((await getMigration(clients, name)).status?.phase).toBe("Succeeded");
    await expectMigrated(name, second);
  });

  it("a graceful stop of the leader releases the Lease and the follower takes over at once", async () => {
    // Whoever leads now (the survivor of the previous test, or a new operator) hands over to a new follower.
    const running = operators.filter((op) => !op.exited());
    const holder = (await readLease(clients))?.holder;
    const leader = running.find((op) => op.identity === holder) ?? (await operator("b2"));
    await waitFor(async () => (await readLease(clients))?.holder === leader.identity, {
      description: `${leader.identity} to hold the Lease`,
      timeoutMs: 60_000,
    });
    const follower = await operator("c");
    await followerSees(follower, leader);
    const before = await expectSoleLeader(leader, follower);

    const app = await appNamespace("handover", false);
    const name = migrationName("handover");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      strategy: UNBLOCKED,
      batches: [{ name: "all", namespaces: [app.name] }],
    });
    // Stop the leader once it has started on the namespace.
    await waitFor(async () => (await namespaceMetadata(clients, app.name)).annotations[OWNER_KEY] === name, {
      description: "the leader to start on the namespace",
      timeoutMs: 60_000,
    });
    expect(actionLines(follower.logFile)).toEqual([]);
    await leader.stop();
    expect(leader.child.exitCode).toBe(0);

    // Released on the way out (or already taken by the follower), never left to expire.
    expect((await readLease(clients))?.holder).not.toBe(leader.identity);
    const after = await waitFor(
      async () => {
        const lease = await readLease(clients);
        return lease?.holder === follower.identity ? lease : undefined;
      },
      {
        description: `${follower.identity} to take over the released Lease`,
        timeoutMs: HANDOVER_DEADLINE_MS,
      },
    );
    expect(after.transitions).toBe(before.transitions + 1);
    expect(logLines(follower.logFile).some((line) => line.msg === "the lease expired; taking it over")).toBe(
      false,
    );

    await kubectlWaitReady(name, 180);
    expect((await getMigration(clients, name)).status?.phase).toBe("Succeeded");
    await expectMigrated(name, app);
  });
});
