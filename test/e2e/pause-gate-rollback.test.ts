// Stopping, stepping and undoing a migration by editing its spec: pause,
// stopAfterBatch, and rollback, checked from the cluster a user would inspect.
import { describe, expect, it } from "vitest";
import { livePods, meshOf, namespaceMetadata, waitForAppsOn } from "../support/apps.ts";
import { kubectl } from "../support/kubectl.ts";
import {
  applyMigration,
  condition,
  deleteMigration,
  eventsOf,
  getMigration,
  kubectlWaitReady,
  waitForMigration,
} from "../support/migrations.ts";
import { migrationSuite } from "../support/suite.ts";

const { clients, appNamespace: createNamespace, migrationName, patchSpec } = migrationSuite();
const appNamespace = (prefix: string, options: Parameters<typeof createNamespace>[1] = {}) =>
  createNamespace(prefix, { deploymentOnly: true, ...options });

describe("pause, gates and rollback", () => {
  it("holds at stopAfterBatch, advances when the gate moves, and pauses without starting anything new", async () => {
    const canary = await appNamespace("gate-a", { labels: { "istio-injection": "enabled" } });
    const wave = await appNamespace("gate-b", { labels: { "istio-injection": "enabled" } });
    await waitForAppsOn(clients, canary, "istio", 3);
    await waitForAppsOn(clients, wave, "istio", 3);
    const name = migrationName("gated");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [
        { name: "canary", namespaces: [canary] },
        { name: "wave-1", namespaces: [wave] },
      ],
      stopAfterBatch: "canary",
    });
    // Holding counts as Ready: the cluster matches the spec ("migrate up to canary").
    await kubectlWaitReady(name);
    const holding = await getMigration(clients, name);
    expect(holding.status?.phase).toBe("Holding");
    expect(condition(holding, "Ready")?.reason).toBe("HoldingAtBatch");
    expect(condition(holding, "Ready")?.message).toContain("wave-1");
    expect(condition(holding, "Ready")?.message).toContain("stopAfterBatch");
    await waitForAppsOn(clients, canary, "linkerd", 3);
    expect((await livePods(clients, wave)).map(meshOf)).toEqual(["istio", "istio", "istio"]);
    const waveBefore = await namespaceMetadata(clients, wave);
    expect(waveBefore.annotations["meshmigration.io/owner"]).toBeUndefined();

    // Pause, then move the gate: nothing starts while paused.
    await patchSpec(name, { paused: true });
    // Held at the gate there is nothing left to do: still Holding (and Ready), with Paused=True.
    await waitForMigration(
      clients,
      name,
      (m) => m.status?.phase === "Holding" && condition(m, "Paused")?.status === "True",
      "Paused=True while Holding",
    );
    await patchSpec(name, { stopAfterBatch: null });
    const paused = await waitForMigration(
      clients,
      name,
      (m) => m.status?.phase === "Paused" && condition(m, "Paused")?.status === "True",
      "still Paused after the gate moved",
    );
    expect(condition(paused, "Paused")?.message).toContain("spec.paused: false");
    expect(await namespaceMetadata(clients, wave)).toEqual(waveBefore);

    // Resume: it picks up where it stopped.
    await patchSpec(name, { paused: false });
    await kubectlWaitReady(name);
    await waitForAppsOn(clients, wave, "linkerd", 3);
    expect((await getMigration(clients, name)).status?.phase).toBe("Succeeded");
  });

  it("rolls back every touched namespace to its exact original markers, keeping a user's later edits", async () => {
    const a = await appNamespace("rb-a", {
      labels: { "istio-injection": "enabled" },
      annotations: { "config.linkerd.io/default-inbound-policy": "all-unauthenticated" },
      deploymentTemplate: { labels: { "sidecar.istio.io/inject": "true" } },
    });
    const b = await appNamespace("rb-b", { labels: { "istio-injection": "enabled" } });
    await waitForAppsOn(clients, a, "istio", 3);
    await waitForAppsOn(clients, b, "istio", 3);
    const originalA = await namespaceMetadata(clients, a);
    const originalB = await namespaceMetadata(clients, b);
    const webBefore = await clients.apps.readNamespacedDeployment({ name: "web", namespace: a });
    const name = migrationName("rollback");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [
        { name: "one", namespaces: [a] },
        { name: "two", namespaces: [b] },
      ],
    });
    await kubectlWaitReady(name);
    await waitForAppsOn(clients, a, "linkerd", 3);

    // A user adds an unrelated label meanwhile: it must survive the rollback.
    await kubectl(["label", "namespace", a, "cost-center=42"]);

    await patchSpec(name, { rollback: true });
    await waitForMigration(clients, name, (m) => m.status?.phase === "RolledBack", "RolledBack", 180_000);
    await kubectlWaitReady(name);
    await waitForAppsOn(clients, a, "istio", 3);
    await waitForAppsOn(clients, b, "istio", 3);

    const bookkeeping = (m: Record<string, string>) =>
      Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith("meshmigration.io/")));
    const afterA = await namespaceMetadata(clients, a);
    expect(bookkeeping(afterA.labels)).toEqual({ ...originalA.labels, "cost-center": "42" });
    expect(bookkeeping(afterA.annotations)).toEqual(originalA.annotations);
    const afterB = await namespaceMetadata(clients, b);
    expect(bookkeeping(afterB.labels)).toEqual(originalB.labels);
    expect(bookkeeping(afterB.annotations)).toEqual(originalB.annotations);

    // The pod-template rewrite is undone too.
    const webAfter = await clients.apps.readNamespacedDeployment({ name: "web", namespace: a });
    const labelsOf = (d: typeof webAfter) => d.spec?.template.metadata?.labels ?? {};
    expect(labelsOf(webAfter)).toEqual(labelsOf(webBefore));
    expect(webAfter.spec?.template.metadata?.annotations?.["linkerd.io/inject"]).toBeUndefined();
    expect(webAfter.metadata?.annotations?.["meshmigration.io/template-original"]).toBeUndefined();

    const rolledBack = await getMigration(clients, name);
    expect(condition(rolledBack, "Ready")?.reason).toBe("RolledBack");
    // In reverse order: the later batch's namespace went back first.
    const reasons = (await eventsOf(name))
      .filter((e) => e.reason === "NamespaceRestored")
      .map((e) => e.message);
    expect(reasons[0]).toContain(b);

    // Forward again.
    await patchSpec(name, { rollback: false });
    await waitForMigration(clients, name, (m) => m.status?.phase === "Succeeded", "Succeeded again", 180_000);
    await waitForAppsOn(clients, a, "linkerd", 3);
  });

  it("deleting a MeshMigration leaves namespaces in the mesh they are in and removes only its bookkeeping", async () => {
    const ns = await appNamespace("del", {
      labels: { "istio-injection": "enabled" },
      deploymentTemplate: { annotations: { "sidecar.istio.io/inject": "true" } },
    });
    await waitForAppsOn(clients, ns, "istio", 3);
    const name = migrationName("deleted");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [ns] }],
    });
    await kubectlWaitReady(name);
    const migrated = await getMigration(clients, name);
    expect((migrated as { metadata: { finalizers?: string[] } }).metadata.finalizers).toContain(
      "meshmigration.io/finalizer",
    );

    await deleteMigration(name);
    const after = await namespaceMetadata(clients, ns);
    expect(after.annotations["linkerd.io/inject"]).toBe("enabled");
    expect(after.labels["istio-injection"]).toBeUndefined();
    const ours = (m: Record<string, string>) =>
      Object.keys(m).filter((k) => k.startsWith("meshmigration.io/"));
    expect(ours(after.labels)).toEqual([]);
    expect(ours(after.annotations)).toEqual([]);
    const web = await clients.apps.readNamespacedDeployment({ name: "web", namespace: ns });
    expect(web.metadata?.annotations?.["meshmigration.io/template-original"]).toBeUndefined();
    expect(web.spec?.template.metadata?.annotations?.["linkerd.io/inject"]).toBe("enabled");
    expect((await livePods(clients, ns)).map(meshOf)).toEqual(["linkerd", "linkerd", "linkerd"]);
  });
});
