// The reconciler carries out a plan one write at a time, and looks again before each: a pause
// (any spec edit) or a lost Lease between two writes stops the rest of the plan at once. A write
// the apiserver refuses is a Warning Event a user sees.
import { describe, expect, it } from "vitest";
import type { MigrationReconciler } from "../../../src/controller/reconciler.ts";
import { ModelCluster } from "../../sim/model-cluster.ts";

const NAME = "stops";

/** A namespace on Linkerd with three workloads already restarted into Istio but one: many restarts due at once. */
function cluster(): ModelCluster {
  const model = new ModelCluster({ istioRevisions: ["default"], linkerd: true });
  model.addNamespace("shop", {}, { "linkerd.io/inject": "enabled" });
  for (const name of ["a", "b", "c", "d"]) {
    model.addWorkload({ kind: "Deployment", namespace: "shop", name, replicas: 1 });
  }
  model.addMigration(NAME, {
    source: { mesh: "linkerd" },
    target: { mesh: "istio" },
    batches: [{ name: "all", namespaces: ["shop"] }],
    strategy: { maxConcurrentRollouts: 10 },
  });
  return model;
}

function reconcilerFor(model: ModelCluster, afterStep: (reason: string) => void, leading = () => true) {
  return model.reconciler(() => new Date("2026-12-01T00:00:00Z"), { afterStep, stillLeading: leading });
}

const restarts = (model: ModelCluster) => model.writes.filter((w) => w.kind === "Deployment").length;

/** Reconcile until the first restart wave is due (finalizer, record, relabel, the canary). */
async function untilRestartsDue(model: ModelCluster, reconciler: MigrationReconciler): Promise<void> {
  for (let i = 0; i < 10 && restarts(model) === 0; i++) {
    await reconciler.reconcile(NAME);
    model.settle();
  }
}

describe("reconciler between writes", () => {
  it("stops the rest of a plan when the spec changed after a write (a pause within one action)", async () => {
    const model = cluster();
    let pauseAfterNextRestart = false;
    const reconciler = reconcilerFor(model, (reason) => {
      if (reason === "WorkloadRestarted" && pauseAfterNextRestart) {
        model.setMigrationSpec(NAME, (spec) => {
          spec.paused = true;
        });
        pauseAfterNextRestart = false;
      }
    });
    await untilRestartsDue(model, reconciler);
    expect(restarts(model)).toBe(1); // the canary, alone
    model.settle();

    // Three restarts are due now; the pause lands after the first of them.
    pauseAfterNextRestart = true;
    await reconciler.reconcile(NAME);
    expect(restarts(model)).toBe(2);
    await reconciler.reconcile(NAME);
    expect(restarts(model)).toBe(2);
    expect(model.caches.migrations.get(NAME)?.status?.phase).toBe("Paused");
  });

  it("stops writing at once when the Lease is lost between two writes", async () => {
    const model = cluster();
    let leading = true;
    const reconciler = reconcilerFor(
      model,
      (reason) => {
        if (reason === "WorkloadRestarted" && restarts(model) === 2) leading = false;
      },
      () => leading,
    );
    await untilRestartsDue(model, reconciler);
    model.settle();
    await reconciler.reconcile(NAME);
    expect(restarts(model)).toBe(2);

    // And a reconcile that starts without the Lease writes nothing at all, status included.
    const writes = model.writes.length;
    model.settle();
    await reconciler.reconcile(NAME);
    expect(model.writes.length).toBe(writes);
  });

  it("reports a write the apiserver refuses (RBAC, the write limits) as a WriteRefused Warning Event", async () => {
    const model = cluster();
    const refusal = Object.assign(new Error("forbidden"), {
      code: 403,
      body: {
        reason: "Forbidden",
        message: 'deployments.apps "a" is forbidden: ValidatingAdmissionPolicy denied request',
      },
    });
    const apps = new Proxy(model.clients.apps, {
      get(target, property, receiver) {
        if (property === "patchNamespacedDeployment") return () => Promise.reject(refusal);
        return Reflect.get(target, property, receiver);
      },
    });
    const reconciler = model.reconciler(() => new Date("2026-12-01T00:00:00Z"), {
      clients: { ...model.clients, apps },
    });
    let refused: unknown;
    for (let i = 0; i < 10 && refused === undefined; i++) {
      await reconciler.reconcile(NAME).catch((error: unknown) => {
        refused = error;
      });
      model.settle();
    }
    expect(refused).toBe(refusal);
    const event = model.events.recorded.find((e) => e.reason === "WriteRefused");
    expect(event?.type).toBe("Warning");
    expect(event?.message).toContain("RestartWorkload in namespace shop");
    expect(event?.message).toContain("403 Forbidden");
    expect(event?.message).toContain("deploy/write-limits.yaml");
  });
});
