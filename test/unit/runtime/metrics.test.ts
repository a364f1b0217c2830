import { describe, expect, it } from "vitest";
import { createMetrics } from "../../../src/runtime/metrics.ts";

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("createMetrics", () => {
  it("exposes the controller, work queue, leader election, migration and process metrics", async () => {
    const metrics = createMetrics();
    metrics.reconcileObserver().onReconcile("meshmigration", "success", 0.2);
    metrics.reconcileObserver().onReconcile("meshmigration", "error", 0.1);
    const queue = metrics.workQueueObserver();
    queue.onAdd("meshmigration");
    queue.onDepth("meshmigration", 3);
    queue.onRetry("meshmigration");
    queue.onQueueLatency("meshmigration", 0.01);
    queue.onWorkDuration("meshmigration", 0.02);
    metrics.leaderStatusObserver().onLeaderStatus("mesh-migration-operator", true);
    metrics.setMigrationPhase("m1", "Progressing");
    metrics.setMigrationNamespaces("m1", { Migrated: 2, Pending: 3 });
    metrics.setDoubleMeshedPods("m1", 0);

    const text = await metrics.registry.metrics();
    for (const name of [
      "controller_runtime_reconcile_total",
      "controller_runtime_reconcile_errors_total",
      "controller_runtime_reconcile_time_seconds",
      "workqueue_depth",
      "workqueue_adds_total",
      "workqueue_retries_total",
      "workqueue_queue_duration_seconds",
      "workqueue_work_duration_seconds",
      "leader_election_master_status",
      "meshmigration_namespaces",
      "meshmigration_double_meshed_pods",
      "meshmigration_phase",
      "process_cpu_user_seconds_total",
      "nodejs_eventloop_lag_seconds",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(
      sample(text, 'controller_runtime_reconcile_total{controller="meshmigration",result="error"}'),
    ).toBe(1);
    expect(sample(text, 'controller_runtime_reconcile_errors_total{controller="meshmigration"}')).toBe(1);
    expect(sample(text, 'workqueue_depth{name="meshmigration"}')).toBe(3);
    expect(sample(text, 'leader_election_master_status{name="mesh-migration-operator"}')).toBe(1);
    expect(sample(text, 'meshmigration_namespaces{migration="m1",phase="Pending"}')).toBe(3);
  });

  it("reports 1 for the current phase and 0 for the phases a migration left", async () => {
    const metrics = createMetrics({ defaultMetrics: false, knownPhases: ["Pending", "Succeeded"] });
    metrics.setMigrationPhase("m1", "Progressing");
    metrics.setMigrationPhase("m1", "Paused");
    const text = await metrics.registry.metrics();
    expect(sample(text, 'meshmigration_phase{migration="m1",phase="Paused"}')).toBe(1);
    expect(sample(text, 'meshmigration_phase{migration="m1",phase="Progressing"}')).toBe(0);
    expect(sample(text, 'meshmigration_phase{migration="m1",phase="Pending"}')).toBe(0);
    expect(sample(text, 'meshmigration_phase{migration="m1",phase="Succeeded"}')).toBe(0);
  });

  it("reports each True condition with its reason, and 0 once it clears, for alerts on Degraded", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const degraded = (status: string, reason: string) => [{ type: "Degraded", status, reason }];
    metrics.setMigrationConditions("m1", degraded("True", "RolloutTimeout"));
    let text = await metrics.registry.metrics();
    expect(
      sample(text, 'meshmigration_condition{migration="m1",type="Degraded",reason="RolloutTimeout"}'),
    ).toBe(1);
    metrics.setMigrationConditions("m1", degraded("False", "NoProblems"));
    text = await metrics.registry.metrics();
    expect(
      sample(text, 'meshmigration_condition{migration="m1",type="Degraded",reason="RolloutTimeout"}'),
    ).toBe(0);
    expect(text).not.toContain('reason="NoProblems"');
    metrics.forgetMigration("m1");
    expect(await metrics.registry.metrics()).not.toContain('migration="m1"');
  });

  it("drops namespace phases that emptied to 0 and forgets a deleted migration entirely", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.setMigrationNamespaces("m1", { Pending: 2, Migrating: 1 });
    metrics.setMigrationNamespaces("m1", { Migrated: 3 });
    metrics.setDoubleMeshedPods("m1", 1);
    metrics.setMigrationPhase("m1", "Progressing");
    let text = await metrics.registry.metrics();
    expect(sample(text, 'meshmigration_namespaces{migration="m1",phase="Pending"}')).toBe(0);
    expect(sample(text, 'meshmigration_namespaces{migration="m1",phase="Migrated"}')).toBe(3);

    metrics.forgetMigration("m1");
    text = await metrics.registry.metrics();
    expect(text).not.toContain('migration="m1"');
  });

  it("keeps separate registries apart", async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.workQueueObserver().onAdd("q");
    expect(sample(await a.registry.metrics(), 'workqueue_adds_total{name="q"}')).toBe(1);
    expect(sample(await b.registry.metrics(), 'workqueue_adds_total{name="q"}')).toBeUndefined();
  });
});
