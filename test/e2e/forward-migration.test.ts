// Forward migrations end to end: a real apiserver, real Deployment, StatefulSet
// and DaemonSet rollouts (kwok), the emulated Istio and Linkerd injectors, and
// the operator running as a process. Everything is checked from what a user sees:
// pods, namespaces, status, conditions and Events.
import { describe, expect, it } from "vitest";
import { setInjectorUp } from "../emulators/control.ts";
import {
  livePods,
  meshOf,
  namespaceMetadata,
  UNRELATED_ANNOTATIONS,
  UNRELATED_LABELS,
  waitForAppsOn,
  waitForSettled,
} from "../support/apps.ts";
import { uniqueName } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import {
  applyMigration,
  condition,
  eventsOf,
  getMigration,
  kubectlWaitReady,
  waitForMigration,
} from "../support/migrations.ts";
import { migrationSuite } from "../support/suite.ts";

const { clients, appNamespace, migrationName } = migrationSuite();

describe("forward migration", () => {
  it("moves Istio sidecar namespaces to Linkerd batch by batch, verified from every pod", async () => {
    const batch1 = [await appNamespace("i2l-a"), await appNamespace("i2l-b")];
    const batch2 = [await appNamespace("i2l-c"), await appNamespace("i2l-d")];
    const all = [...batch1, ...batch2];
    for (const ns of all) {
      await clients.core.patchNamespace(
        { name: ns, body: { metadata: { labels: { "istio-injection": "enabled" } } } },
        (await import("@kubernetes/client-node")).setHeaderOptions(
          "Content-Type",
          "application/merge-patch+json",
        ),
      );
    }
    // Pods created before the label are unmeshed; restart them into Istio the way a user would.
    for (const ns of all) {
      for (const kind of ["deployment/web", "statefulset/db", "daemonset/agent"]) {
        await kubectl(["rollout", "restart", "-n", ns, kind]);
      }
    }
    for (const ns of all) await waitForAppsOn(clients, ns, "istio");
    const before = new Map(
      await Promise.all(all.map(async (ns) => [ns, await namespaceMetadata(clients, ns)] as const)),
    );

    const name = migrationName("istio-to-linkerd");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [
        { name: "canary", namespaces: batch1 },
        { name: "wave-1", namespaces: batch2 },
      ],
      strategy: { maxConcurrentNamespaces: 2 },
    });
    await kubectlWaitReady(name, 240);

    for (const ns of all) {
      const pods = await livePods(clients, ns);
      expect(pods).toHaveLength(8);
      expect(pods.map(meshOf)).toEqual(pods.map(() => "linkerd"));
      const after = await namespaceMetadata(clients, ns);
      expect(after.labels["istio-injection"]).toBeUndefined();
      expect(after.annotations["linkerd.io/inject"]).toBe("enabled");
      // Unrelated keys exactly as they were.
      expect(after.labels).toMatchObject(UNRELATED_LABELS);
      expect(after.annotations).toMatchObject(UNRELATED_ANNOTATIONS);
      const unrelated = (m: Record<string, string>) =>
        Object.fromEntries(
          Object.entries(m).filter(
            ([k]) => !k.includes("istio") && !k.includes("linkerd") && !k.startsWith("meshmigration.io/"),
          ),
        );
      expect(unrelated(after.labels)).toEqual(unrelated(before.get(ns)?.labels ?? {}));
      expect(unrelated(after.annotations)).toEqual(unrelated(before.get(ns)?.annotations ?? {}));
      // What is needed to undo it was recorded.
      expect(after.annotations["meshmigration.io/owner"]).toBe(name);
      expect(JSON.parse(after.annotations["meshmigration.io/original"] ?? "{}")).toEqual({
        labels: { "istio-injection": "enabled" },
        annotations: {},
      });
    }

    const migration = await getMigration(clients, name);
    expect(migration.status).toMatchObject({ phase: "Succeeded", progress: "4/4", doubleMeshedPods: 0 });
    expect(migration.status?.batches?.map((b) => [b.name, b.phase, b.migrated])).toEqual([
      ["canary", "Migrated", 2],
      ["wave-1", "Migrated", 2],
    ]);
    for (const ns of migration.status?.namespaces ?? []) {
      expect(ns).toMatchObject({
        phase: "Migrated",
        workloads: { total: 3, restarted: 3, ready: 3 },
        pods: { target: 8, source: 0, unmeshed: 0, doubleMeshed: 0 },
      });
    }
    expect(condition(migration, "Degraded")?.status).toBe("False");

    const events = await eventsOf(name);
    const reasons = new Set(events.map((e) => e.reason));
    for (const reason of [
      "OriginalRecorded",
      "NamespaceRelabelled",
      "WorkloadRestarted",
      "NamespaceVerified",
    ]) {
      expect(reasons, `event ${reason}`).toContain(reason);
    }
    // Batches ran in order: wave-1 was first touched after every canary namespace verified.
    const order = events.map((e) => e.message);
    const lastCanaryVerified = Math.max(
      ...batch1.map((ns) => order.findIndex((m) => m.startsWith(`Namespace ${ns} (batch canary)`))),
    );
    const firstWaveTouched = Math.min(
      ...batch2.map((ns) => order.findIndex((m) => m.startsWith(`Namespace ${ns}:`))),
    );
    expect(lastCanaryVerified).toBeGreaterThanOrEqual(0);
    expect(firstWaveTouched).toBeGreaterThan(lastCanaryVerified);

    const table = await kubectl(["get", "meshmigration", name]);
    expect(table.stdout).toMatch(
      /SOURCE\s+TARGET\s+PHASE\s+BATCH\s+DIRECTION\s+PROGRESS\s+DOUBLE-MESHED\s+AGE/,
    );
    expect(table.stdout).toMatch(
      new RegExp(`${name}\\s+istio\\s+linkerd\\s+Succeeded\\s+wave-1\\s+Forward\\s+4/4\\s+0`),
    );
  });

  it("moves Linkerd to an Istio revision", async () => {
    const ns = await appNamespace("l2i", {
      annotations: { "linkerd.io/inject": "enabled" },
      deploymentOnly: true,
    });
    await waitForAppsOn(clients, ns, "linkerd", 3);
    const name = migrationName("linkerd-to-istio");
    await applyMigration(name, {
      source: { mesh: "linkerd" },
      target: { mesh: "istio", revision: "1-24" },
      batches: [{ name: "all", namespaces: [ns] }],
    });
    await kubectlWaitReady(name);
    const pods = await waitForAppsOn(clients, ns, "istio", 3);
    for (const pod of pods) expect(pod.metadata?.annotations?.["istio.io/rev"]).toBe("1-24");
    const after = await namespaceMetadata(clients, ns);
    expect(after.labels["istio.io/rev"]).toBe("1-24");
    expect(after.annotations["linkerd.io/inject"]).toBeUndefined();
  });

  it("moves Istio sidecars to Istio ambient: the sidecars go, ambient captures the new pods", async () => {
    const ns = await appNamespace("i2a", { labels: { "istio-injection": "enabled" }, deploymentOnly: true });
    await waitForAppsOn(clients, ns, "istio", 3);
    const name = migrationName("istio-to-ambient");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "istio-ambient" },
      batches: [{ name: "all", namespaces: [ns] }],
    });
    await kubectlWaitReady(name);
    await waitForAppsOn(clients, ns, "istio-ambient", 3);
    const after = await namespaceMetadata(clients, ns);
    expect(after.labels["istio.io/dataplane-mode"]).toBe("ambient");
    expect(after.labels["istio-injection"]).toBeUndefined();
  });

  it("rewrites a pod-template Istio opt-in under workloadOverrides Rewrite, recording the original", async () => {
    const ns = await appNamespace("rewrite", {
      labels: { "istio-injection": "enabled" },
      deploymentOnly: true,
      deploymentTemplate: { annotations: { "sidecar.istio.io/inject": "true" } },
    });
    await waitForAppsOn(clients, ns, "istio", 3);
    const name = migrationName("rewrite");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [ns] }],
      strategy: { workloadOverrides: "Rewrite" },
    });
    await kubectlWaitReady(name);
    await waitForAppsOn(clients, ns, "linkerd", 3);
    const web = await clients.apps.readNamespacedDeployment({ name: "web", namespace: ns });
    const annotations = web.spec?.template.metadata?.annotations ?? {};
    expect(annotations["sidecar.istio.io/inject"]).toBeUndefined();
    expect(annotations["linkerd.io/inject"]).toBe("enabled");
    expect(
      JSON.parse(web.metadata?.annotations?.["meshmigration.io/template-original"] ?? "{}"),
    ).toMatchObject({
      annotations: { "sidecar.istio.io/inject": "true" },
    });
  });

  it("halts under workloadOverrides Fail, naming the workload, and changes nothing", async () => {
    const ns = await appNamespace("fail", {
      labels: { "istio-injection": "enabled" },
      deploymentOnly: true,
      deploymentTemplate: { annotations: { "sidecar.istio.io/inject": "true" } },
    });
    await waitForAppsOn(clients, ns, "istio", 3);
    await waitForSettled(clients, ns);
    const before = await namespaceMetadata(clients, ns);
    const webBefore = await clients.apps.readNamespacedDeployment({ name: "web", namespace: ns });
    const name = migrationName("overrides-fail");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [ns] }],
      strategy: { workloadOverrides: "Fail" },
    });
    const halted = await waitForMigration(
      clients,
      name,
      (m) => condition(m, "Degraded")?.reason === "WorkloadOverridesFound",
      "Degraded WorkloadOverridesFound",
    );
    expect(halted.status?.phase).toBe("Failed");
    expect(condition(halted, "Degraded")?.message).toContain("deployment/web");
    expect(condition(halted, "Degraded")?.message).toContain("workloadOverrides: Rewrite");
    expect(condition(halted, "Ready")?.status).toBe("False");
    expect(await namespaceMetadata(clients, ns)).toEqual(before);
    const webAfter = await clients.apps.readNamespacedDeployment({ name: "web", namespace: ns });
    expect(webAfter.metadata?.resourceVersion).toBe(webBefore.metadata?.resourceVersion);
    expect((await eventsOf(name)).map((e) => e.reason)).toContain("WorkloadOverridesFound");
  });

  it("leaves a namespace untouched while the target's injector is down, and says why", async () => {
    const ns = await appNamespace("down", { labels: { "istio-injection": "enabled" }, deploymentOnly: true });
    await waitForAppsOn(clients, ns, "istio", 3);
    const before = await namespaceMetadata(clients, ns);
    await setInjectorUp(clients.kc, "linkerd", false);
    const name = migrationName("injector-down");
    try {
      await applyMigration(name, {
        source: { mesh: "istio" },
        target: { mesh: "linkerd" },
        batches: [{ name: "all", namespaces: [ns] }],
      });
      const blocked = await waitForMigration(
        clients,
        name,
        (m) => condition(m, "Degraded")?.reason === "TargetControlPlaneNotReady",
        "Degraded TargetControlPlaneNotReady",
      );
      expect(condition(blocked, "Degraded")?.message).toContain("linkerd-proxy-injector");
      expect(condition(blocked, "Ready")?.status).toBe("False");
      expect(await namespaceMetadata(clients, ns)).toEqual(before);
    } finally {
      await setInjectorUp(clients.kc, "linkerd", true);
    }
    // Once the injector is back, the migration continues by itself.
    await kubectlWaitReady(name);
    await waitForAppsOn(clients, ns, "linkerd", 3);
  });

  it("reports a batch naming a namespace that does not exist, and changes nothing", async () => {
    const existing = await appNamespace("exists", {
      labels: { "istio-injection": "enabled" },
      deploymentOnly: true,
    });
    const before = await namespaceMetadata(clients, existing);
    const missing = uniqueName("missing");
    const name = migrationName("missing-ns");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "canary", namespaces: [existing, missing] }],
    });
    const blocked = await waitForMigration(
      clients,
      name,
      (m) => condition(m, "Degraded")?.reason === "NamespaceNotFound",
      "Degraded NamespaceNotFound",
    );
    expect(condition(blocked, "Degraded")?.message).toContain(missing);
    expect(condition(blocked, "Ready")?.status).toBe("False");
    expect(blocked.status?.phase).toBe("Pending");
    expect(await namespaceMetadata(clients, existing)).toEqual(before);
  });

  it("never lets a second MeshMigration act on a namespace another one owns", async () => {
    const ns = await appNamespace("owned", {
      labels: { "istio-injection": "enabled" },
      deploymentOnly: true,
    });
    await waitForAppsOn(clients, ns, "istio", 3);
    const first = migrationName("first-owner");
    await applyMigration(first, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [ns] }],
    });
    await kubectlWaitReady(first);
    const before = await namespaceMetadata(clients, ns);

    const second = migrationName("second-owner");
    await applyMigration(second, {
      source: { mesh: "linkerd" },
      target: { mesh: "istio" },
      batches: [{ name: "all", namespaces: [ns] }],
    });
    const refused = await waitForMigration(
      clients,
      second,
      (m) => condition(m, "Degraded")?.reason === "NamespaceOwnedByAnotherMigration",
      "Degraded NamespaceOwnedByAnotherMigration",
    );
    expect(condition(refused, "Degraded")?.message).toContain(ns);
    expect(await namespaceMetadata(clients, ns)).toEqual(before);
  });
});
