// Chaos: two operator replicas on one Lease, the leader SIGKILLed at uniformly random moments,
// ten times during a forward migration and ten during its rollback (20 kills). After each phase the cluster
// must be exactly where a run without a kill ends: every label and annotation as expected, the
// true original recorded (never overwritten), no workload restarted twice for one step (restart
// stamps at attempt 1), and no pod meshed twice at any moment it was looked at. Prints its counts.
// A short Lease (4 s) keeps each takeover quick; the takeover itself is the leader-failover suite's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppNamespace, livePods, meshOf, namespaceMetadata, waitForAppsOn } from "../support/apps.ts";
import { installCrd } from "../support/crd.ts";
import { e2eClients, uniqueName } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { applyMigration, getMigration, waitForMigration } from "../support/migrations.ts";
import { type OperatorProcess, RUN_ID, startOperator } from "../support/operator.ts";
import {
  deleteLease,
  deleteMigrationsWithin,
  edited,
  ORIGINAL_KEY,
  OWNER_KEY,
  parseStamp,
  readLease,
  restartStamps,
  type StringMap,
  withParsedOriginal,
} from "../support/snapshots.ts";
import { waitFor } from "../support/wait.ts";

const KILLS_PER_PHASE = 10;
/** A kill lands uniformly within this long after a leader took over. */
const KILL_WINDOW_MS = 1_000;
/**
 * More work than ten kills can interrupt in either phase, so each phase takes all ten: a kill
 * costs a Lease expiry, and the work left after the last kill runs at full speed (cheap).
 */
const NAMESPACES = ["chaos-a", "chaos-b", "chaos-c", "chaos-d", "chaos-e", "chaos-f", "chaos-g", "chaos-h"];
const SHORT_LEASE = [
  "--leader-election-lease-duration=4s",
  "--leader-election-renew-deadline=3s",
  "--leader-election-retry-period=1s",
];
const ISTIO = { "istio-injection": "enabled" };
const clients = e2eClients();
const namespaces: string[] = [];
const migrations: string[] = [];
const operators: OperatorProcess[] = [];
let started = 0;

async function replica(): Promise<OperatorProcess> {
  const op = await startOperator({ identity: `${RUN_ID}-chaos-${++started}`, args: SHORT_LEASE });
  operators.push(op);
  return op;
}

const live = () => operators.filter((op) => !op.exited());

/** No pod of these namespaces runs two meshes' proxies; returns the ones that do. */
async function doubleMeshed(names: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const ns of names) {
    for (const pod of await livePods(clients, ns))
      if (meshOf(pod) === "double") found.push(`${ns}/${pod.metadata?.name}`);
  }
  return found;
}

interface Tally {
  kills: number;
  takenOver: number;
  doubleMeshed: string[];
}

/**
 * Kills the leader at a random moment after each takeover, `count` times or until the phase
 * ends, keeping two replicas running. Counts the kills after which another replica took the Lease.
 */
async function killLeaders(
  count: number,
  names: readonly string[],
  done: () => Promise<boolean>,
): Promise<Tally> {
  const tally: Tally = { kills: 0, takenOver: 0, doubleMeshed: [] };
  for (let i = 0; i < count; i++) {
    const leader = await waitFor(
      async () => {
        const holder = (await readLease(clients))?.holder;
        return live().find((op) => op.identity === holder);
      },
      { description: "a live replica to hold the Lease", timeoutMs: 60_000 },
    );
    if (i > 0) tally.takenOver++;
    // The moment, not a synchronisation: a uniformly random point of the leader's work.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * KILL_WINDOW_MS));
    if (await done()) break;
    await leader.kill();
    tally.kills++;
    tally.doubleMeshed.push(...(await doubleMeshed(names)));
    await replica();
  }
  return tally;
}

beforeAll(async () => {
  await installCrd();
  await deleteLease(clients);
});

afterAll(async () => {
  if (live().length === 0) await replica();
  await deleteMigrationsWithin(migrations);
  for (const op of live()) await op.stop();
  await deleteLease(clients);
  for (const name of namespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
});

describe("random kills", () => {
  it(`converges after ${KILLS_PER_PHASE} leader kills in each of forward and rollback, nothing lost`, async () => {
    const apps: Array<{ name: string; before: { labels: StringMap; annotations: StringMap } }> = [];
    for (const prefix of NAMESPACES) {
      const name = uniqueName(prefix);
      namespaces.push(name);
      await createAppNamespace(clients, name, { labels: ISTIO });
      apps.push({ name, before: { labels: {}, annotations: {} } });
    }
    for (const app of apps) {
      await waitForAppsOn(clients, app.name, "istio");
      app.before = await namespaceMetadata(clients, app.name);
    }
    const names = apps.map((a) => a.name);
    await replica();
    await replica();
    const name = uniqueName("chaos");
    migrations.push(name);
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: apps.map((app, i) => ({ name: `b${i}`, namespaces: [app.name] })),
      strategy: { maxConcurrentRollouts: 1, blockOnWarnings: false },
    });
    const phaseIs = (phase: string) => async () =>
      (await getMigration(clients, name)).status?.phase === phase;

    const forward = await killLeaders(KILLS_PER_PHASE, names, phaseIs("Succeeded"));
    await waitForMigration(clients, name, (m) => m.status?.phase === "Succeeded", "Succeeded", 240_000);
    for (const app of apps) {
      await waitForAppsOn(clients, app.name, "linkerd");
      expect(withParsedOriginal(await namespaceMetadata(clients, app.name))).toEqual({
        labels: edited(app.before.labels, { [OWNER_KEY]: name }, ["istio-injection"]),
        annotations: edited(app.before.annotations, {
          "linkerd.io/inject": "enabled",
          [OWNER_KEY]: name,
          [ORIGINAL_KEY]: { labels: ISTIO, annotations: {} },
        }),
      });
      for (const [ref, stamp] of await restartStamps(clients, app.name)) {
        expect(parseStamp(stamp), `${app.name} ${ref}`).toMatchObject({
          migration: name,
          direction: "forward",
          attempt: 1,
        });
      }
    }

    const rolled = await kubectl([
      "patch",
      "meshmigration",
      name,
      "--type=merge",
      "-p",
      '{"spec":{"rollback":true}}',
    ]);
    expect(rolled.code, rolled.stderr).toBe(0);
    const rollback = await killLeaders(KILLS_PER_PHASE, names, phaseIs("RolledBack"));
    await waitForMigration(clients, name, (m) => m.status?.phase === "RolledBack", "RolledBack", 240_000);
    for (const app of apps) {
      await waitForAppsOn(clients, app.name, "istio");
      const after = await namespaceMetadata(clients, app.name);
      const ours = (m: StringMap) =>
        Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith("meshmigration.io/")));
      expect({ labels: ours(after.labels), annotations: ours(after.annotations) }).toEqual(app.before);
      for (const [ref, stamp] of await restartStamps(clients, app.name)) {
        expect(parseStamp(stamp), `${app.name} ${ref}`).toMatchObject({
          migration: name,
          direction: "rollback",
          attempt: 1,
        });
      }
    }

    const kills = forward.kills + rollback.kills;
    const lost = [...forward.doubleMeshed, ...rollback.doubleMeshed];
    console.log(
      `${kills} kills (${forward.kills} forward, ${rollback.kills} rollback), ${kills} converged, ` +
        `${forward.takenOver + rollback.takenOver} takeovers, ${lost.length} lost (double-meshed pods seen)`,
    );
    expect(lost).toEqual([]);
    // Every kill landed while there was work left: ten in each phase.
    expect(forward.kills).toBe(KILLS_PER_PHASE);
    expect(rollback.kills).toBe(KILLS_PER_PHASE);
  }, 900_000);
});
