// The in-memory cluster the simulation runs the operator against: admission through the mesh
// emulators, apiserver write semantics, rollouts and istio-cni on tick, and the real reconciler
// carrying out a migration on it.
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { EventRecorder } from "../../../src/controller/events.ts";
import { MERGE_PATCH } from "../../../src/controller/executor.ts";
import { controlPlaneFacts, deploymentFacts, podObservation } from "../../../src/controller/observe.ts";
import { MigrationReconciler } from "../../../src/controller/reconciler.ts";
import type { MeshRef } from "../../../src/meshes/driver.ts";
import { driverFor, meshesOfPod } from "../../../src/meshes/registry.ts";
import { ModelCluster } from "../../sim/model-cluster.ts";

const NOW = new Date("2025-06-01T00:00:00Z");

function meshesIn(model: ModelCluster, namespace: string): string[][] {
  return model.caches.pods.list(namespace).map((pod) => meshesOfPod(pod));
}

function podNames(model: ModelCluster, namespace: string): string[] {
  return model.caches.pods.list(namespace).map((pod) => pod.metadata?.name ?? "");
}

function controlPlaneReady(model: ModelCluster, ref: MeshRef): boolean {
  const { caches } = model;
  return controlPlaneFacts(driverFor(ref.mesh).controlPlane(ref), {
    deployment: (ns, name) => caches.deployments.get(name, ns),
    daemonSet: (ns, name) => caches.daemonSets.get(name, ns),
    webhook: (name) => caches.webhooks.get(name),
  }).ready;
}

describe("ModelCluster: admission", () => {
  it("gives a Deployment's pods an istio-proxy in a namespace labelled istio-injection=enabled", () => {
    const model = new ModelCluster({ istioRevisions: ["default"] });
    model.addNamespace("shop", { "istio-injection": "enabled" });
    model.addWorkload({ kind: "Deployment", namespace: "shop", name: "web", replicas: 2 });

    const pods = model.caches.pods.list("shop");
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(meshesOfPod(pod)).toEqual(["istio"]);
      expect(podObservation(pod)).toMatchObject({
        owner: { kind: "Deployment", name: "web" },
        unmanaged: false,
        phase: "Running",
      });
    }
    expect(deploymentFacts(model.caches.deployments.get("web", "shop")!).rolledOut).toBe(true);
  });

  it("calls Istio's injector before Linkerd's, which leaves a pod with an istio-proxy alone", () => {
    const model = new ModelCluster({ istioRevisions: ["default"], linkerd: true });
    model.addNamespace("both", { "istio-injection": "enabled" }, { "linkerd.io/inject": "enabled" });
    model.addNamespace("mesh", {}, { "linkerd.io/inject": "enabled" });
    model.addWorkload({ kind: "StatefulSet", namespace: "both", name: "db", replicas: 1 });
    model.addWorkload({ kind: "DaemonSet", namespace: "mesh", name: "agent", replicas: 2 });
    model.addUnmanagedPod("mesh", "report-x", { jobName: "report" });

    expect(meshesIn(model, "both")).toEqual([["istio"]]);
    expect(meshesIn(model, "mesh")).toEqual([["linkerd"], ["linkerd"], ["linkerd"]]);
    const job = podObservation(model.caches.pods.get("report-x", "mesh")!);
    expect(job).toMatchObject({ owner: undefined, unmanaged: true });
  });

  it("installs ready control planes for the meshes asked for, and only those", () => {
    const model = new ModelCluster({ istioRevisions: ["default", "canary"], linkerd: true });
    expect(controlPlaneReady(model, { mesh: "istio" })).toBe(true);
    expect(controlPlaneReady(model, { mesh: "istio", revision: "canary" })).toBe(true);
    expect(controlPlaneReady(model, { mesh: "istio", revision: "1-24" })).toBe(false);
    expect(controlPlaneReady(model, { mesh: "linkerd" })).toBe(true);
    expect(controlPlaneReady(model, { mesh: "istio-ambient" })).toBe(false);
    expect(controlPlaneReady(new ModelCluster({ ambient: true }), { mesh: "istio-ambient" })).toBe(true);
  });
});

describe("ModelCluster: writes", () => {
  it("rejects a patch with a stale resourceVersion with 409 and changes nothing", async () => {
    const model = new ModelCluster({});
    model.addNamespace("shop", { team: "a", tier: "web" });
    const read = model.caches.namespaces.get("shop")!;
    const version = read.metadata?.resourceVersion;

    await model.clients.core.patchNamespace(
      { name: "shop", body: { metadata: { resourceVersion: version, labels: { team: "b", tier: null } } } },
      MERGE_PATCH,
    );
    const written = model.caches.namespaces.get("shop")!;
    expect(written.metadata?.labels).toEqual({ team: "b", "kubernetes.io/metadata.name": "shop" });
    expect(Number(written.metadata?.resourceVersion)).toBeGreaterThan(Number(version));

    const stale = model.clients.core.patchNamespace(
      { name: "shop", body: { metadata: { resourceVersion: version, labels: { team: "c" } } } },
      MERGE_PATCH,
    );
    await expect(stale).rejects.toMatchObject({ code: 409 });
    expect(model.caches.namespaces.get("shop")).toBe(written);
    expect(model.writes).toEqual([
      { kind: "Namespace", name: "shop", labels: { team: "b", tier: null }, annotations: {} },
    ]);
    // What was read before the write is still what was read.
    expect(read.metadata?.labels?.team).toBe("a");
    // Stored objects are frozen: a reconciler that changed a cached object would fail loudly.
    expect(() => {
      (read.metadata?.labels as Record<string, string>).team = "z";
    }).toThrow(TypeError);
  });

  it("answers 404 for unknown objects and names the client methods it does not implement", async () => {
    const model = new ModelCluster({});
    const missing = model.clients.core.patchNamespace({ name: "nope", body: { metadata: {} } }, MERGE_PATCH);
    await expect(missing).rejects.toMatchObject({ code: 404 });
    expect(() => model.clients.core.readNamespace({ name: "shop" })).toThrow(
      /core\.readNamespace is not implemented/,
    );
  });

  it("starts no rollout for a patch of the workload's own annotations", async () => {
    const model = new ModelCluster({});
    model.addNamespace("shop");
    model.addWorkload({ kind: "Deployment", namespace: "shop", name: "web", replicas: 1 });
    await model.clients.apps.patchNamespacedDeployment(
      { name: "web", namespace: "shop", body: { metadata: { annotations: { note: "x" } } } },
      MERGE_PATCH,
    );
    const web = model.caches.deployments.get("web", "shop")!;
    expect(web.metadata?.generation).toBe(1);
    expect(deploymentFacts(web).rolledOut).toBe(true);
    expect(model.rolling).toBe(false);
  });
});

describe("ModelCluster: rollouts and istio-cni", () => {
  it("rolls a patched template out on settle() with pods injected by the namespace's current markers", async () => {
    const model = new ModelCluster({ istioRevisions: ["default"], linkerd: true });
    model.addNamespace("shop", { "istio-injection": "enabled" });
    model.addWorkload({ kind: "Deployment", namespace: "shop", name: "web", replicas: 2 });
    const before = podNames(model, "shop");

    await model.clients.core.patchNamespace(
      {
        name: "shop",
        body: {
          metadata: { labels: { "istio-injection": null }, annotations: { "linkerd.io/inject": "enabled" } },
        },
      },
      MERGE_PATCH,
    );
    expect(meshesIn(model, "shop")).toEqual([["istio"], ["istio"]]); // relabelling restarts nothing

    await model.clients.apps.patchNamespacedDeployment(
      {
        name: "web",
        namespace: "shop",
        body: { spec: { template: { metadata: { annotations: { restart: "1" } } } } },
      },
      MERGE_PATCH,
    );
    const rolling = model.caches.deployments.get("web", "shop")!;
    expect(rolling.metadata?.generation).toBe(2);
    expect(deploymentFacts(rolling).rolledOut).toBe(false);
    expect(model.rolling).toBe(true);
    expect(podNames(model, "shop")).toEqual(before);

    model.settle();
    expect(model.rolling).toBe(false);
    expect(deploymentFacts(model.caches.deployments.get("web", "shop")!).rolledOut).toBe(true);
    expect(podNames(model, "shop").filter((name) => before.includes(name))).toEqual([]);
    expect(meshesIn(model, "shop")).toEqual([["linkerd"], ["linkerd"]]);
  });

  it("completes a rollout on tick() only when the draw is below completeProbability", async () => {
    const model = new ModelCluster({});
    model.addNamespace("shop");
    model.addWorkload({ kind: "StatefulSet", namespace: "shop", name: "db", replicas: 1 });
    await model.clients.apps.patchNamespacedStatefulSet(
      { name: "db", namespace: "shop", body: { spec: { template: { metadata: { labels: { v: "2" } } } } } },
      MERGE_PATCH,
    );
    model.tick(() => 0.9, 0.5);
    expect(model.rolling).toBe(true);
    model.tick(() => 0.1, 0.5);
    expect(model.rolling).toBe(false);
    expect(model.caches.pods.list("shop")[0]?.metadata?.labels?.v).toBe("2");
  });

  it("ambient: redirects the running pods of a namespace labelled ambient on the next tick", async () => {
    const model = new ModelCluster({ ambient: true });
    model.addNamespace("shop");
    model.addWorkload({ kind: "Deployment", namespace: "shop", name: "web", replicas: 2 });
    await model.clients.core.patchNamespace(
      { name: "shop", body: { metadata: { labels: { "istio.io/dataplane-mode": "ambient" } } } },
      MERGE_PATCH,
    );
    expect(meshesIn(model, "shop")).toEqual([[], []]);

    model.tick(() => 0.5);
    expect(meshesIn(model, "shop")).toEqual([["istio-ambient"], ["istio-ambient"]]);
  });
});

describe("ModelCluster: the real reconciler", () => {
  it("migrates a namespace from istio to linkerd until every pod is on linkerd", async () => {
    const model = new ModelCluster({ istioRevisions: ["default"], linkerd: true });
    model.addNamespace("shop", { "istio-injection": "enabled" });
    model.addWorkload({ kind: "Deployment", namespace: "shop", name: "web", replicas: 2 });
    model.addWorkload({ kind: "StatefulSet", namespace: "shop", name: "db", replicas: 1 });
    model.addMigration("move", {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "only", namespaces: ["shop"] }],
    });
    const reconciler = new MigrationReconciler({
      caches: model.caches,
      clients: model.clients,
      events: model.events as unknown as EventRecorder,
      log: pino({ level: "silent" }),
      now: () => NOW,
    });

    let phase: unknown;
    for (let i = 0; i < 50 && phase !== "Succeeded"; i++) {
      await reconciler.reconcile("move"); // the first call only adds the finalizer
      model.settle();
      phase = model.caches.migrations.get("move")?.status?.phase;
    }

    expect(phase).toBe("Succeeded");
    expect(meshesIn(model, "shop")).toEqual([["linkerd"], ["linkerd"], ["linkerd"]]);
    expect(model.writes.filter((w) => w.kind === "Namespace")).toHaveLength(2); // record original, relabel
    expect(model.writes.filter((w) => w.kind === "Deployment" || w.kind === "StatefulSet")).toHaveLength(2);
    expect(model.events.recorded.map((e) => e.reason)).toContain("Succeeded");
  });
});
