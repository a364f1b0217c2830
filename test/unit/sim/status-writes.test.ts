// Status writes follow the changes a user acts on, not the pod events: the operator's loop (real
// reconciler, enqueue rules and work queue) on the model cluster, rollouts pod by pod, a migration
// of 20 namespaces of two workloads each, forward and then back. The minimum is one write for each
// reconcile that saw a namespace (or the migration) change phase: a status that shows every phase
// change cannot do with fewer.
import { describe, expect, it } from "vitest";
import { ModelCluster } from "../../sim/model-cluster.ts";
import { type LoopResult, runOperatorLoop } from "../../sim/operator-loop.ts";
import { seeded } from "../../sim/scenarios.ts";

const NAMESPACES = 20;
const MIGRATION = "scale";
const START = Date.parse("2026-12-01T00:00:00Z");
/** The target: at most this many status writes per write the phase changes need. */
const MAX_RATIO = 1.2;

function cluster(): { model: ModelCluster; namespaces: string[] } {
  const model = new ModelCluster({ istioRevisions: ["default"], linkerd: true, podByPodRollouts: true });
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `app-${String(i).padStart(2, "0")}`);
  for (const ns of namespaces) {
    model.addNamespace(ns, { "istio-injection": "enabled" });
    model.addWorkload({ kind: "Deployment", namespace: ns, name: "web", replicas: 3 });
    model.addWorkload({ kind: "StatefulSet", namespace: ns, name: "db", replicas: 2 });
  }
  model.addMigration(MIGRATION, {
    source: { mesh: "istio" },
    target: { mesh: "linkerd" },
    batches: [
      { name: "canary", namespaces: namespaces.slice(0, 2) },
      { name: "rest", namespaces: namespaces.slice(2) },
    ],
    strategy: { maxConcurrentNamespaces: 3, maxConcurrentRollouts: 2 },
  });
  return { model, namespaces };
}

function report(what: string, result: LoopResult): string {
  const ratio = result.statusWrites / result.minimum;
  return (
    `${NAMESPACES} namespaces ${what}: ${result.statusWrites} status writes, minimum ${result.minimum}, ` +
    `${ratio.toFixed(2)}× (${result.phaseChanges} phase changes, ${result.reconciles} reconciles, ` +
    `${(result.elapsedMs / 1000).toFixed(0)} s simulated)`
  );
}

describe("status writes", () => {
  it(`stay within ${MAX_RATIO}× one write per phase change, forward and back, and never restamp a condition`, async () => {
    const { model } = cluster();
    const random = seeded(14);
    const forward = await runOperatorLoop(model, {
      migration: MIGRATION,
      random,
      progressProbability: 0.7,
      start: START,
    });
    console.log(report("forward", forward));
    expect(forward.phase).toBe("Succeeded");

    model.setMigrationSpec(MIGRATION, (spec) => {
      spec.rollback = true;
    });
    const back = await runOperatorLoop(model, {
      migration: MIGRATION,
      random,
      progressProbability: 0.7,
      start: START + forward.elapsedMs,
    });
    console.log(report("rolled back", back));
    expect(back.phase).toBe("RolledBack");

    for (const result of [forward, back]) {
      // Every namespace changed phase at least twice (moving, then settled).
      expect(result.phaseChanges).toBeGreaterThanOrEqual(2 * NAMESPACES);
      expect(result.statusWrites).toBeLessThanOrEqual(MAX_RATIO * result.minimum);
      expect(result.restampedConditions).toBe(0);
    }
  }, 60_000);

  it("read only the pods of the migration's namespaces, one namespace at a time", async () => {
    const { model, namespaces } = cluster();
    // A namespace no batch lists, with many pods: no reconcile may look at them.
    model.addNamespace("bystander", { "istio-injection": "enabled" });
    model.addWorkload({ kind: "Deployment", namespace: "bystander", name: "big", replicas: 50 });
    const pods = model.caches.pods;
    const listed = new Map<string, number>();
    model.caches.pods = {
      get: (name, namespace) => pods.get(name, namespace),
      list: (namespace) => {
        const key = namespace ?? "<every namespace>";
        listed.set(key, (listed.get(key) ?? 0) + 1);
        return pods.list(namespace);
      },
    };
    const result = await runOperatorLoop(model, { migration: MIGRATION, random: seeded(7), start: START });
    expect(result.phase).toBe("Succeeded");
    expect([...listed.keys()].sort()).toEqual([...namespaces].sort());
  }, 60_000);
});
