// Applying and observing MeshMigrations the way a user does: kubectl apply,
// kubectl wait, and reading status.
import { GROUP, PLURAL, VERSION } from "../../src/api/constants.ts";
import type { E2eClients } from "./kube.ts";
import { kubectl } from "./kubectl.ts";
import { RUN_ID, RUN_LABEL } from "./operator.ts";
import { waitFor } from "./wait.ts";

export interface MigrationObject {
  metadata: { name: string; generation?: number; resourceVersion?: string };
  spec: Record<string, unknown>;
  status?: {
    phase?: string;
    observedGeneration?: number;
    progress?: string;
    currentBatch?: string;
    doubleMeshedPods?: number;
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    batches?: Array<{ name: string; phase: string; namespaces: string[]; migrated: number }>;
    namespaces?: Array<{
      name: string;
      batch: string;
      phase: string;
      message?: string;
      workloads: { total: number; restarted: number; ready: number };
      pods: { target: number; source: number; unmeshed: number; doubleMeshed: number };
      unmanagedPods?: string[];
      doubleMeshedPods?: string[];
    }>;
  };
}

export async function applyMigration(name: string, spec: Record<string, unknown>): Promise<void> {
  const manifest = JSON.stringify({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "MeshMigration",
    metadata: { name, labels: { [RUN_LABEL]: RUN_ID } },
    spec,
  });
  const result = await kubectl(["apply", "-f", "-"], manifest);
  if (result.code !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
}

/** `kubectl patch meshmigration NAME --type=merge` of its spec, as a user edits it; throws on failure. */
export async function patchMigrationSpec(name: string, spec: Record<string, unknown>): Promise<void> {
  const result = await kubectl([
    "patch",
    "meshmigration",
    name,
    "--type=merge",
    "-p",
    JSON.stringify({ spec }),
  ]);
  if (result.code !== 0) throw new Error(result.stderr);
}

export async function getMigration(clients: E2eClients, name: string): Promise<MigrationObject> {
  return (await clients.custom.getClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    name,
  })) as MigrationObject;
}

export function condition(m: MigrationObject, type: string) {
  return m.status?.conditions?.find((c) => c.type === type);
}

/** `kubectl wait --for=condition=Ready`, as the README tells users to do. */
export async function kubectlWaitReady(name: string, timeoutSeconds = 180): Promise<void> {
  const result = await kubectl([
    "wait",
    "--for=condition=Ready",
    `--timeout=${timeoutSeconds}s`,
    `meshmigration/${name}`,
  ]);
  if (result.code !== 0) {
    const described = await kubectl(["describe", "meshmigration", name]);
    throw new Error(`kubectl wait failed: ${result.stderr}\n${described.stdout}`);
  }
}

/** Waits until the migration's status (for the current generation) satisfies the predicate. */
export async function waitForMigration(
  clients: E2eClients,
  name: string,
  predicate: (m: MigrationObject) => boolean,
  description: string,
  timeoutMs = 120_000,
): Promise<MigrationObject> {
  let last: MigrationObject | undefined;
  try {
    return await waitFor(
      async () => {
        const m = await getMigration(clients, name);
        last = m;
        return m.status?.observedGeneration === m.metadata.generation && predicate(m) ? m : undefined;
      },
      { description: `${name}: ${description}`, timeoutMs },
    );
  } catch (error) {
    // What it was instead, so a timeout in CI says where the migration stood.
    throw new Error(`${String(error)}; last seen: ${describeMigration(last)}`);
  }
}

function describeMigration(m: MigrationObject | undefined): string {
  if (!m) return "nothing (never read)";
  const conditions = (m.status?.conditions ?? [])
    .map((c) => `${c.type}=${c.status} (${c.reason}: ${c.message})`)
    .join("; ");
  return `generation ${m.metadata.generation}, observed ${m.status?.observedGeneration}, phase ${m.status?.phase}, ${conditions}`;
}

/**
 * Deletes a MeshMigration and waits until it is gone. Its finalizer lets a running operator release
 * its bookkeeping first; if no operator handles it within the deadline (a test already stopped its
 * operator), the finalizer is removed so test clean-up never hangs.
 */
export async function deleteMigration(name: string, timeoutMs = 30_000): Promise<void> {
  await kubectl(["delete", "meshmigration", name, "--ignore-not-found", "--wait=false"]);
  const gone = async () =>
    (await kubectl(["get", "meshmigration", name, "--ignore-not-found", "-o", "name"])).stdout.trim() === "";
  try {
    await waitFor(gone, { timeoutMs, description: `meshmigration ${name} to be deleted` });
  } catch {
    await kubectl(["patch", "meshmigration", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
    await waitFor(gone, { timeoutMs, description: `meshmigration ${name} to be deleted` });
  }
}

/** The Events of a MeshMigration, oldest first. */
export async function eventsOf(
  name: string,
): Promise<Array<{ reason: string; message: string; type: string }>> {
  const result = await kubectl([
    "get",
    "events",
    "-n",
    "default",
    "--field-selector",
    `involvedObject.kind=MeshMigration,involvedObject.name=${name}`,
    "-o",
    "json",
  ]);
  const list = JSON.parse(result.stdout || '{"items":[]}') as {
    items: Array<{ reason: string; message: string; type: string; metadata: { resourceVersion: string } }>;
  };
  // In the order they were written: etcd's revisions grow with every write (a test-only reading
  // of the otherwise opaque resourceVersion; timestamps have one-second resolution).
  return list.items.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
}
