// Deleting a MeshMigration in the middle of a migration, on the real cluster: a namespace caught
// mid-drain (Linkerd -> ambient: Linkerd's marker removed, ambient not yet added, so on no mesh)
// is not left there with its record erased; it goes back to its recorded original, and only then
// does the MeshMigration go.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppNamespace, livePods, meshOf, namespaceMetadata, waitForAppsOn } from "../support/apps.ts";
import { installCrd } from "../support/crd.ts";
import { e2eClients, uniqueName } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { applyMigration, getMigration } from "../support/migrations.ts";
import { type OperatorProcess, startOperator } from "../support/operator.ts";
import { deleteLease, deleteMigrationsWithin, ORIGINAL_KEY, OWNER_KEY } from "../support/snapshots.ts";
import { waitFor } from "../support/wait.ts";

const clients = e2eClients();
const namespaces: string[] = [];
const migrations: string[] = [];
const operators: OperatorProcess[] = [];
const LINKERD = { "linkerd.io/inject": "enabled" };

beforeAll(async () => {
  await installCrd();
});

afterAll(async () => {
  if (operators.every((op) => op.exited())) operators.push(await startOperator());
  await deleteMigrationsWithin(migrations);
  for (const op of operators) if (!op.exited()) await op.stop();
  for (const name of namespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
});

describe("deleting a MeshMigration mid-migration", () => {
  it("returns a namespace caught mid-drain to its recorded original before it goes", async () => {
    const ns = uniqueName("del-drain");
    namespaces.push(ns);
    await createAppNamespace(clients, ns, { annotations: LINKERD, deploymentOnly: true });
    await waitForAppsOn(clients, ns, "linkerd", 3);
    const before = await namespaceMetadata(clients, ns);

    // Killed right after the drain relabel: the namespace is on no mesh, its pods still on Linkerd.
    const crashing = await startOperator({ env: { MMO_FAULT_KILL_AFTER: "NamespaceRelabelled#1" } });
    operators.push(crashing);
    const name = uniqueName("del-drain");
    migrations.push(name);
    await applyMigration(name, {
      source: { mesh: "linkerd" },
      target: { mesh: "istio-ambient" },
      batches: [{ name: "all", namespaces: [ns] }],
      strategy: { blockOnWarnings: false },
    });
    await waitFor(() => crashing.exited(), {
      timeoutMs: 120_000,
      description: "the operator to die after the drain relabel",
    });
    const midway = await namespaceMetadata(clients, ns);
    expect(midway.annotations["linkerd.io/inject"]).toBeUndefined();
    expect(midway.labels["istio.io/dataplane-mode"]).toBeUndefined();
    expect(midway.annotations[ORIGINAL_KEY]).toBeDefined();

    const deleted = await kubectl(["delete", "meshmigration", name, "--wait=false"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    await deleteLease(clients);
    operators.push(await startOperator());
    await waitFor(
      async () =>
        (await kubectl(["get", "meshmigration", name, "--ignore-not-found", "-o", "name"])).stdout.trim() ===
        "",
      { timeoutMs: 120_000, description: `meshmigration ${name} to be gone` },
    );

    const after = await namespaceMetadata(clients, ns);
    expect(after).toEqual(before);
    expect(Object.keys(after.annotations).filter((k) => k === OWNER_KEY || k === ORIGINAL_KEY)).toEqual([]);
    expect((await livePods(clients, ns)).map(meshOf)).toEqual(["linkerd", "linkerd", "linkerd"]);
    await expect(getMigration(clients, name)).rejects.toThrow();
  });
});
