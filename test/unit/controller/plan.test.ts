import { describe, expect, it } from "vitest";
import type { NamespaceFacts } from "../../../src/controller/facts.ts";
import { planMigration } from "../../../src/controller/migration/plan-migration.ts";
import type { MigrationPlanInput } from "../../../src/controller/migration/types.ts";
import { deployment, namespace, pod, READY_CONTROL_PLANE } from "./builders.ts";

function input(
  namespaces: NamespaceFacts[],
  spec: Partial<MigrationPlanInput["spec"]> = {},
): MigrationPlanInput {
  return {
    name: "move",
    generation: 3,
    spec: {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [
        { name: "canary", namespaces: ["a"] },
        { name: "wave", namespaceSelector: { matchLabels: { team: "pay" } } },
      ],
      strategy: {
        maxConcurrentNamespaces: 1,
        maxConcurrentRollouts: 5,
        rolloutTimeout: "10m",
        workloadOverrides: "Rewrite",
      },
      paused: false,
      ...spec,
    },
    namespaces: new Map(namespaces.map((ns) => [ns.name, ns])),
    workloadsIn: () => [],
    podsIn: () => [],
    targetControlPlane: READY_CONTROL_PLANE,
    now: new Date("2026-11-22T10:00:00Z"),
  };
}

const migrated = (name: string, labels: Record<string, string> = {}) =>
  namespace(name, labels, {
    "meshmigration.io/owner": "move",
    "meshmigration.io/original": JSON.stringify({
      labels: { "istio-injection": "enabled" },
      annotations: {},
    }),
    "linkerd.io/inject": "enabled",
  });

describe("migration plan", () => {
  it("changes nothing in a batch that names a missing namespace, and says which", () => {
    const plan = planMigration(input([namespace("b", { team: "pay" })], {}));
    expect(plan.actions).toEqual([]);
    expect(plan.status.phase).toBe("Pending");
    const degraded = plan.status.conditions.find((c) => c.type === "Degraded");
    expect(degraded).toMatchObject({ status: "True", reason: "NamespaceNotFound" });
    expect(degraded?.message).toContain("a");
  });

  it("changes nothing in a batch that names a namespace being deleted, as the whole plan says", () => {
    const going = { ...namespace("a", { "istio-injection": "enabled" }), terminating: true };
    const plan = planMigration(input([going, namespace("b", { team: "pay" })]));
    expect(plan.actions).toEqual([]);
    const degraded = plan.status.conditions.find((c) => c.type === "Degraded");
    expect(degraded).toMatchObject({ status: "True", reason: "NamespaceTerminating" });
    expect(degraded?.message).toContain("remove them from spec.batches");
  });

  it("holds a batch that has not started on a blocking warning that appeared mid-migration", () => {
    const done = migrated("a");
    const plan = planMigration({
      ...input([done, namespace("b", { team: "pay", "istio-injection": "enabled" })]),
      warnings: [{ code: "IstioStrictMTLS", severity: "Blocking", namespace: "b", message: "STRICT" }],
    });
    expect(plan.actions).toEqual([]);
    const degraded = plan.status.conditions.find((c) => c.type === "Degraded");
    expect(degraded).toMatchObject({ status: "True", reason: "BlockingPreflightWarning" });
  });

  it("starts the first batch only, one namespace at a time", () => {
    const plan = planMigration(
      input([namespace("a", { "istio-injection": "enabled" }), namespace("b", { team: "pay" })]),
    );
    expect(plan.actions.map((a) => a.namespace)).toEqual(["a"]);
    expect(plan.status.currentBatch).toBe("canary");
  });

  it("starts the next namespace of a batch once the one before it is migrated", () => {
    const plan = planMigration(
      input([migrated("a"), namespace("c", { "istio-injection": "enabled" })], {
        batches: [{ name: "canary", namespaces: ["a", "c"] }],
      }),
    );
    expect(plan.actions.map((a) => [a.type, a.namespace])).toEqual([["RecordOriginal", "c"]]);
  });

  it("holds at the gate with Ready=True and names the edit that advances", () => {
    const plan = planMigration(
      input([migrated("a"), namespace("b", { team: "pay" })], { stopAfterBatch: "canary" }),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.status.phase).toBe("Holding");
    const ready = plan.status.conditions.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "True", reason: "HoldingAtBatch" });
    expect(ready?.message).toContain("wave");
  });

  it("starts nothing new while paused", () => {
    const plan = planMigration(input([migrated("a"), namespace("b", { team: "pay" })], { paused: true }));
    expect(plan.actions).toEqual([]);
    expect(plan.status.phase).toBe("Paused");
    expect(plan.status.conditions.find((c) => c.type === "Paused")?.status).toBe("True");
  });

  it("is Succeeded and Ready once every namespace is migrated, with observedGeneration", () => {
    const plan = planMigration(input([migrated("a"), migrated("b", { team: "pay" })]));
    expect(plan.status).toMatchObject({
      phase: "Succeeded",
      direction: "Forward",
      progress: "2/2",
      observedGeneration: 3,
    });
    expect(plan.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("stays Succeeded and Ready when paused with nothing left to do (kubectl wait must not block)", () => {
    const plan = planMigration(input([migrated("a"), migrated("b", { team: "pay" })], { paused: true }));
    expect(plan.status.phase).toBe("Succeeded");
    expect(plan.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(plan.status.conditions.find((c) => c.type === "Paused")?.status).toBe("True");
  });

  it("rolls back the namespace caught mid-move first, read from the cluster and not from status", () => {
    // "a" (canary) was relabelled but its pods are still on Istio; "b" (wave) is migrated.
    const plan = planMigration({
      ...input([migrated("a"), migrated("b", { team: "pay" })], { rollback: true }),
      workloadsIn: (ns) => (ns === "a" ? [deployment("web", { namespace: "a" })] : []),
      podsIn: (ns) =>
        ns === "a" ? [pod("web-1", "web", "istio", { metadata: { name: "web-1", namespace: "a" } })] : [],
    });
    expect([...new Set(plan.actions.map((a) => a.namespace))]).toEqual(["a"]);
  });

  it("announces a verified namespace once, by a name derived from its facts, not from the status written before", () => {
    const verified = (stamp: string) =>
      planMigration({
        ...input([migrated("a")], { batches: [{ name: "canary", namespaces: ["a"] }] }),
        workloadsIn: (ns) =>
          ns === "a"
            ? [
                deployment("web", {
                  namespace: "a",
                  template: { labels: {}, annotations: { "meshmigration.io/restarted-for": stamp } },
                }),
              ]
            : [],
        podsIn: (ns) =>
          ns === "a" ? [pod("web-1", "web", "linkerd", { metadata: { name: "web-1", namespace: "a" } })] : [],
      }).events.filter((e) => e.reason === "NamespaceVerified");
    const first = verified("move:forward:1:2026-11-22T10:00:00.000Z");
    expect(first).toEqual([
      expect.objectContaining({ once: expect.stringMatching(/^move\.a\.forward\.[0-9a-f]{8}$/) }),
    ]);
    expect(verified("move:forward:1:2026-11-22T10:00:00.000Z")[0]?.once).toBe(first[0]?.once);
    expect(verified("move:forward:1:2026-11-22T11:00:00.000Z")[0]?.once).not.toBe(first[0]?.once);
  });

  it("rolls back the later batch first", () => {
    const plan = planMigration(input([migrated("a"), migrated("b", { team: "pay" })], { rollback: true }));
    expect(plan.status.phase).toBe("RollingBack");
    expect(plan.status.direction).toBe("Rollback");
    expect(plan.actions.map((a) => [a.type, a.namespace])).toEqual([["Relabel", "b"]]);
  });
});
