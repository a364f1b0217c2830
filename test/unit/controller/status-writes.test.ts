// When a computed status is written: what a user acts on, not a moving namespace's counts; and
// never the same status twice while the cache has yet to show the first write.
import { describe, expect, it } from "vitest";
import type { Cache, MeshMigrationObject } from "../../../src/controller/reconciler.ts";
import { statusNeedsWrite } from "../../../src/controller/status-writes.ts";
import { ModelCluster } from "../../sim/model-cluster.ts";

function status(phase: string, pods: number, message = "m") {
  return {
    phase: "Progressing",
    conditions: [{ type: "Ready", status: "False", reason: "Progressing", lastTransitionTime: "t1" }],
    namespaces: [
      {
        name: "shop",
        batch: "all",
        phase,
        workloads: { total: 2, restarted: 1, ready: pods > 2 ? 1 : 0 },
        pods: { target: pods, source: 5 - pods, unmeshed: 0, doubleMeshed: 0 },
        message,
      },
    ],
  };
}

describe("statusNeedsWrite", () => {
  it("leaves a moving namespace's counts and message for the next change, and writes every phase change", () => {
    expect(statusNeedsWrite(status("Restarting", 1), status("Restarting", 3, "other"))).toBe(false);
    expect(statusNeedsWrite(status("Verifying", 1), status("Verifying", 5))).toBe(false);
    expect(statusNeedsWrite(status("Restarting", 1), status("Verifying", 1))).toBe(true);
  });

  it("writes any change of a settled namespace, a condition or a null-cleared field", () => {
    expect(statusNeedsWrite(status("Migrated", 4), status("Migrated", 5))).toBe(true);
    expect(statusNeedsWrite(status("Blocked", 0, "a"), status("Blocked", 0, "b"))).toBe(true);
    const raised = status("Restarting", 1);
    raised.conditions[0] = { ...raised.conditions[0], status: "True" } as (typeof raised.conditions)[0];
    expect(statusNeedsWrite(status("Restarting", 1), raised)).toBe(true);
    expect(statusNeedsWrite({ ...status("Migrated", 5), plan: null }, status("Migrated", 5))).toBe(false);
    expect(statusNeedsWrite({ ...status("Migrated", 5), currentBatch: "a" }, status("Migrated", 5))).toBe(
      true,
    );
  });
});

describe("the reconciler's status writes", () => {
  it("does not write a status again while its cache still shows the object from before that write", async () => {
    const model = new ModelCluster({ istioRevisions: ["default"], linkerd: true });
    model.addNamespace("shop", { "istio-injection": "enabled" });
    model.addWorkload({ kind: "Deployment", namespace: "shop", name: "web", replicas: 2 });
    model.addMigration("move", {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: ["shop"] }],
      // Paused: nothing changes between the reconciles but the status write itself.
      paused: true,
    });
    // A cache that can be held behind the apiserver, as an informer is until the watch event arrives.
    const migrations = model.caches.migrations;
    let behind: MeshMigrationObject | undefined;
    const lagging: Cache<MeshMigrationObject> = {
      get: (name) => behind ?? migrations.get(name),
      list: () => (behind ? [behind] : migrations.list()),
    };
    model.caches.migrations = lagging;
    const reconciler = model.reconciler(() => new Date("2026-12-01T00:00:00Z"));
    const statusWrites = () => model.writes.filter((w) => w.kind === "MeshMigrationStatus").length;

    await reconciler.reconcile("move"); // the finalizer
    const beforeWrite = migrations.get("move");
    await reconciler.reconcile("move"); // the first status
    expect(statusWrites()).toBe(1);

    // Woken again (by any event) before the status write has reached the cache: the status it
    // computes is the one it wrote, and writing it over the old resourceVersion would only conflict.
    behind = beforeWrite;
    await expect(reconciler.reconcile("move")).resolves.toBeDefined();
    expect(statusWrites()).toBe(1);

    // The cache catches up: compared with it again, and nothing new to write.
    behind = undefined;
    await reconciler.reconcile("move");
    expect(statusWrites()).toBe(1);

    // A real change is written, whatever was written before.
    model.setMigrationSpec("move", (spec) => {
      spec.paused = false;
    });
    await reconciler.reconcile("move");
    expect(statusWrites()).toBe(2);
  });
});
