// What a migration leaves on the cluster, read the way the crash-safety and
// leader-failover suites compare it: namespace metadata without the operator's
// bookkeeping, the restart stamps on pod templates, the leader-election Lease,
// and what an operator process wrote in its log.
import { readFileSync } from "node:fs";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { expect } from "vitest";
import type { E2eClients } from "./kube.ts";
import { kubectl } from "./kubectl.ts";
import { eventsOf } from "./migrations.ts";
import { RUN_ID } from "./operator.ts";

export const BOOKKEEPING_PREFIX = "meshmigration.io/";
export const OWNER_KEY = "meshmigration.io/owner";
export const ORIGINAL_KEY = "meshmigration.io/original";
export const STAMP_KEY = "meshmigration.io/restarted-for";
export const TEMPLATE_ORIGINAL_KEY = "meshmigration.io/template-original";

export type StringMap = Record<string, string>;

/** The map without the operator's own meshmigration.io/* keys. */
export function withoutBookkeeping(map: StringMap): StringMap {
  return Object.fromEntries(Object.entries(map).filter(([key]) => !key.startsWith(BOOKKEEPING_PREFIX)));
}

/**
 * Namespace metadata with the recorded original parsed, so expectations compare what was recorded,
 * not how the JSON happens to be spelled.
 */
export function withParsedOriginal(meta: { labels: StringMap; annotations: StringMap }): {
  labels: StringMap;
  annotations: Record<string, unknown>;
} {
  const original = meta.annotations[ORIGINAL_KEY];
  return {
    labels: meta.labels,
    annotations: {
      ...meta.annotations,
      ...(original === undefined ? {} : { [ORIGINAL_KEY]: JSON.parse(original) as unknown }),
    },
  };
}

/** The map with `set` applied and `remove` dropped, as an exact expectation. */
export function edited<T>(
  map: Record<string, T>,
  set: Record<string, T>,
  remove: readonly string[] = [],
): Record<string, T> {
  const out: Record<string, T> = { ...map };
  for (const key of remove) delete out[key];
  return { ...out, ...set };
}

export interface ParsedStamp {
  migration: string;
  direction: string;
  attempt: number;
  startedAt: string;
}

/** `<migration>:<direction>:<attempt>:<time>`, the pod-template restart stamp. */
export function parseStamp(value: string | undefined): ParsedStamp | undefined {
  const match = value ? /^([a-z0-9.-]+):(forward|rollback):(\d+):(.+)$/.exec(value) : null;
  if (!match) return undefined;
  return {
    migration: match[1] as string,
    direction: match[2] as string,
    attempt: Number(match[3]),
    startedAt: match[4] as string,
  };
}

/** Each workload of the namespace ("deployment/web"...) and its pod template's restart stamp, if any. */
export async function restartStamps(
  clients: E2eClients,
  namespace: string,
): Promise<Map<string, string | undefined>> {
  const [deployments, statefulSets, daemonSets] = await Promise.all([
    clients.apps.listNamespacedDeployment({ namespace }),
    clients.apps.listNamespacedStatefulSet({ namespace }),
    clients.apps.listNamespacedDaemonSet({ namespace }),
  ]);
  const stamps = new Map<string, string | undefined>();
  const add = (
    kind: string,
    items: Array<{
      metadata?: { name?: string };
      spec?: { template?: { metadata?: { annotations?: StringMap } } };
    }>,
  ) => {
    for (const item of items) {
      stamps.set(
        `${kind}/${item.metadata?.name ?? ""}`,
        item.spec?.template?.metadata?.annotations?.[STAMP_KEY],
      );
    }
  };
  add("deployment", deployments.items);
  add("statefulset", statefulSets.items);
  add("daemonset", daemonSets.items);
  return stamps;
}

/** How many WorkloadRestarted / WorkloadRestartRetried Events name each workload of the namespace, per direction. */
export async function restartEventCounts(
  migration: string,
  namespace: string,
  direction: "forward" | "rollback",
): Promise<{ restarted: Map<string, number>; retried: number }> {
  const restarted = new Map<string, number>();
  let retried = 0;
  const prefix = `Namespace ${namespace}: restarting `;
  for (const event of await eventsOf(migration)) {
    if (!event.message.startsWith(prefix)) continue;
    if (event.message.includes(" (rollback)") !== (direction === "rollback")) continue;
    if (event.reason === "WorkloadRestartRetried") retried++;
    if (event.reason !== "WorkloadRestarted") continue;
    const ref = event.message.slice(prefix.length).split(" ")[0] ?? "";
    restarted.set(ref, (restarted.get(ref) ?? 0) + 1);
  }
  return { restarted, retried };
}

/** How many Events of this reason name the namespace. */
export async function eventCount(migration: string, reason: string, namespace: string): Promise<number> {
  return (await eventsOf(migration)).filter(
    (e) => e.reason === reason && e.message.startsWith(`Namespace ${namespace}:`),
  ).length;
}

export const LEASE_NAMESPACE = "default";
export const LEASE_NAME = `mmo-${RUN_ID}`;

export interface LeaseView {
  holder: string;
  transitions: number;
}

/** The operators' Lease for this test file's run id, or undefined before anyone created it. */
export async function readLease(clients: E2eClients): Promise<LeaseView | undefined> {
  const coordination = clients.kc.makeApiClient(CoordinationV1Api);
  try {
    const lease = await coordination.readNamespacedLease({ namespace: LEASE_NAMESPACE, name: LEASE_NAME });
    return { holder: lease.spec?.holderIdentity ?? "", transitions: lease.spec?.leaseTransitions ?? 0 };
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** Removes this run's Lease once every operator has stopped (leases are not garbage-collected). */
export async function deleteLease(clients: E2eClients): Promise<void> {
  const coordination = clients.kc.makeApiClient(CoordinationV1Api);
  await coordination
    .deleteNamespacedLease({ namespace: LEASE_NAMESPACE, name: LEASE_NAME })
    .catch(() => undefined);
}

/** The structured lines an operator process logged so far. */
export function logLines(logFile: string): Array<Record<string, unknown>> {
  return readFileSync(logFile, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The writes the operator logged: one "action" line per step it carried out. */
export function actionLines(logFile: string): Array<Record<string, unknown>> {
  return logLines(logFile).filter((line) => typeof line.action === "string");
}

/**
 * Deletes MeshMigrations and waits until they are gone. Their finalizer is removed by the
 * operator, so one must be running; the timeout keeps a missing operator from hanging the suite.
 */
export async function deleteMigrationsWithin(names: readonly string[], timeoutSeconds = 90): Promise<void> {
  for (const name of names) {
    const result = await kubectl([
      "delete",
      "meshmigration",
      name,
      "--ignore-not-found",
      "--wait=true",
      `--timeout=${timeoutSeconds}s`,
    ]);
    if (result.code !== 0) throw new Error(`could not delete meshmigration ${name}: ${result.stderr}`);
  }
}

/** The operator's leader_election_master_status for this run's Lease: 1 leading, 0 not. */
export async function leaderStatus(healthPort: number | undefined): Promise<number | undefined> {
  const response = await fetch(`http://127.0.0.1:${healthPort}/metrics`);
  const body = await response.text();
  const line = body
    .split("\n")
    .find((l) => l.startsWith(`leader_election_master_status{name="${LEASE_NAME}"}`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

/**
 * Asserts that every workload of the namespace was restarted exactly once for this migration
 * step: its stamp says attempt 1, one restart Event each, no retries. Returns the stamps.
 */
export async function expectRestartedOnce(
  clients: E2eClients,
  migration: string,
  namespace: string,
  direction: "forward" | "rollback",
): Promise<Map<string, string | undefined>> {
  const stamps = await restartStamps(clients, namespace);
  for (const [ref, stamp] of stamps) {
    expect(parseStamp(stamp), `${ref} stamp ${stamp}`).toMatchObject({ migration, direction, attempt: 1 });
  }
  const events = await restartEventCounts(migration, namespace, direction);
  expect(Object.fromEntries(events.restarted)).toEqual(
    Object.fromEntries([...stamps.keys()].map((ref) => [ref, 1])),
  );
  expect(events.retried).toBe(0);
  return stamps;
}
