// The operator's Prometheus metrics, on a registry of its own (never prom-client's global one,
// so tests and embedders can create as many as they like). Metric names follow
// controller-runtime and client-go, so existing dashboards and alerts apply.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ReconcileObserver, ReconcileOutcome } from "./controller.ts";
import type { LeaderStatusObserver } from "./leader-election.ts";
import type { WorkQueueObserver } from "./workqueue.ts";

export interface MetricsOptions {
  /** Collect process_* and nodejs_* metrics. Default true. */
  defaultMetrics?: boolean;
  /** Phases reported as 0 for every migration, so `meshmigration_phase` always has the full set. */
  knownPhases?: readonly string[];
}

export interface Metrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<"controller" | "result">;
  readonly reconcileErrorsTotal: Counter<"controller">;
  readonly reconcileTimeSeconds: Histogram<"controller">;
  readonly workqueueDepth: Gauge<"name">;
  readonly workqueueAddsTotal: Counter<"name">;
  readonly workqueueRetriesTotal: Counter<"name">;
  readonly workqueueQueueDurationSeconds: Histogram<"name">;
  readonly workqueueWorkDurationSeconds: Histogram<"name">;
  readonly leaderElectionMasterStatus: Gauge<"name">;
  readonly migrationNamespaces: Gauge<"migration" | "phase">;
  readonly migrationDoubleMeshedPods: Gauge<"migration">;
  readonly migrationPhase: Gauge<"migration" | "phase">;
  readonly migrationCondition: Gauge<"migration" | "type" | "reason">;

  /** Observer for any WorkQueue: each queue reports under its own `name`. */
  workQueueObserver(): WorkQueueObserver;
  /** Observer for Controller: reconcile counts, errors and durations. */
  reconcileObserver(): ReconcileObserver;
  /** Observer for LeaderElector: leader_election_master_status. */
  leaderStatusObserver(): LeaderStatusObserver;

  /** meshmigration_phase: 1 for `phase`, 0 for every other phase this migration has reported. */
  setMigrationPhase(migration: string, phase: string): void;
  /** meshmigration_namespaces: namespace count per phase; phases absent from `counts` drop to 0. */
  setMigrationNamespaces(migration: string, counts: Readonly<Record<string, number>>): void;
  setDoubleMeshedPods(migration: string, count: number): void;
  /**
   * meshmigration_condition: 1 for each condition that is True, with its reason, 0 for a type and
   * reason it reported before (so an alert on Degraded sees it clear).
   */
  setMigrationConditions(
    migration: string,
    conditions: ReadonlyArray<{ type: string; status: string; reason: string }>,
  ): void;
  /** Removes every series of a deleted migration, so it stops showing in dashboards. */
  forgetMigration(migration: string): void;
}

// Reconciles here are API round-trips: milliseconds to a minute.
const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60];
// Time in the queue (backoff delays are spent before a key enters it) and per-item work time.
const QUEUE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const knownPhases = options.knownPhases ?? [];

  const reconcileTotal = new Counter({
    name: "controller_runtime_reconcile_total",
    help: "Total number of reconciliations per controller, by result (success, error, requeue, requeue_after).",
    labelNames: ["controller", "result"] as const,
    registers,
  });
  const reconcileErrorsTotal = new Counter({
    name: "controller_runtime_reconcile_errors_total",
    help: "Total number of reconciliation errors per controller.",
    labelNames: ["controller"] as const,
    registers,
  });
  const reconcileTimeSeconds = new Histogram({
    name: "controller_runtime_reconcile_time_seconds",
    help: "Length of time per reconciliation per controller.",
    labelNames: ["controller"] as const,
    buckets: RECONCILE_BUCKETS,
    registers,
  });
  const workqueueDepth = new Gauge({
    name: "workqueue_depth",
    help: "Current depth of the work queue.",
    labelNames: ["name"] as const,
    registers,
  });
  const workqueueAddsTotal = new Counter({
    name: "workqueue_adds_total",
    help: "Total number of adds handled by the work queue.",
    labelNames: ["name"] as const,
    registers,
  });
  const workqueueRetriesTotal = new Counter({
    name: "workqueue_retries_total",
    help: "Total number of rate-limited retries handled by the work queue.",
    labelNames: ["name"] as const,
    registers,
  });
  const workqueueQueueDurationSeconds = new Histogram({
    name: "workqueue_queue_duration_seconds",
    help: "How long in seconds an item stays in the work queue before being requested.",
    labelNames: ["name"] as const,
    buckets: QUEUE_BUCKETS,
    registers,
  });
  const workqueueWorkDurationSeconds = new Histogram({
    name: "workqueue_work_duration_seconds",
    help: "How long in seconds processing an item from the work queue takes.",
    labelNames: ["name"] as const,
    buckets: QUEUE_BUCKETS,
    registers,
  });
  const leaderElectionMasterStatus = new Gauge({
    name: "leader_election_master_status",
    help: "1 if this process holds the named leader-election lease, 0 otherwise.",
    labelNames: ["name"] as const,
    registers,
  });
  const migrationNamespaces = new Gauge({
    name: "meshmigration_namespaces",
    help: "Namespaces of a MeshMigration, by namespace phase.",
    labelNames: ["migration", "phase"] as const,
    registers,
  });
  const migrationDoubleMeshedPods = new Gauge({
    name: "meshmigration_double_meshed_pods",
    help: "Pods of a MeshMigration carrying two meshes' proxies at once (must be 0).",
    labelNames: ["migration"] as const,
    registers,
  });
  const migrationPhase = new Gauge({
    name: "meshmigration_phase",
    help: "The phase of a MeshMigration: 1 for the current phase, 0 for the others.",
    labelNames: ["migration", "phase"] as const,
    registers,
  });

  const migrationCondition = new Gauge({
    name: "meshmigration_condition",
    help: "1 while a MeshMigration's condition of this type is True, with its reason; 0 once it is not.",
    labelNames: ["migration", "type", "reason"] as const,
    registers,
  });

  // Label values each migration has reported, so they can be zeroed or removed later.
  const phasesSeen = new Map<string, Set<string>>();
  const namespacePhasesSeen = new Map<string, Set<string>>();
  const conditionsSeen = new Map<string, Set<string>>();
  const seen = (index: Map<string, Set<string>>, migration: string): Set<string> => {
    let set = index.get(migration);
    if (!set) {
      set = new Set();
      index.set(migration, set);
    }
    return set;
  };

  const workQueue: WorkQueueObserver = {
    onAdd: (name) => workqueueAddsTotal.inc({ name }),
    onDepth: (name, depth) => workqueueDepth.set({ name }, depth),
    onRetry: (name) => workqueueRetriesTotal.inc({ name }),
    onQueueLatency: (name, seconds) => workqueueQueueDurationSeconds.observe({ name }, seconds),
    onWorkDuration: (name, seconds) => workqueueWorkDurationSeconds.observe({ name }, seconds),
  };
  const reconcile: ReconcileObserver = {
    onReconcile(controller: string, result: ReconcileOutcome, seconds: number) {
      reconcileTotal.inc({ controller, result });
      if (result === "error") reconcileErrorsTotal.inc({ controller });
      reconcileTimeSeconds.observe({ controller }, seconds);
    },
  };
  const leaderStatus: LeaderStatusObserver = {
    onLeaderStatus: (name, leading) => leaderElectionMasterStatus.set({ name }, leading ? 1 : 0),
  };

  return {
    registry,
    reconcileTotal,
    reconcileErrorsTotal,
    reconcileTimeSeconds,
    workqueueDepth,
    workqueueAddsTotal,
    workqueueRetriesTotal,
    workqueueQueueDurationSeconds,
    workqueueWorkDurationSeconds,
    leaderElectionMasterStatus,
    migrationNamespaces,
    migrationDoubleMeshedPods,
    migrationPhase,
    migrationCondition,
    workQueueObserver: () => workQueue,
    reconcileObserver: () => reconcile,
    leaderStatusObserver: () => leaderStatus,
    setMigrationPhase(migration, phase) {
      const phases = seen(phasesSeen, migration);
      for (const known of knownPhases) phases.add(known);
      phases.add(phase);
      for (const other of phases) migrationPhase.set({ migration, phase: other }, other === phase ? 1 : 0);
    },
    setMigrationNamespaces(migration, counts) {
      const phases = seen(namespacePhasesSeen, migration);
      for (const phase of Object.keys(counts)) phases.add(phase);
      for (const phase of phases) migrationNamespaces.set({ migration, phase }, counts[phase] ?? 0);
    },
    setDoubleMeshedPods(migration, count) {
      migrationDoubleMeshedPods.set({ migration }, count);
    },
    setMigrationConditions(migration, conditions) {
      const known = seen(conditionsSeen, migration);
      const trueNow = new Set(
        conditions.filter((c) => c.status === "True").map((c) => JSON.stringify([c.type, c.reason])),
      );
      for (const key of trueNow) known.add(key);
      for (const key of known) {
        const [type, reason] = JSON.parse(key) as [string, string];
        migrationCondition.set({ migration, type, reason }, trueNow.has(key) ? 1 : 0);
      }
    },
    forgetMigration(migration) {
      for (const phase of phasesSeen.get(migration) ?? []) migrationPhase.remove({ migration, phase });
      for (const phase of namespacePhasesSeen.get(migration) ?? []) {
        migrationNamespaces.remove({ migration, phase });
      }
      migrationDoubleMeshedPods.remove({ migration });
      for (const key of conditionsSeen.get(migration) ?? []) {
        const [type, reason] = JSON.parse(key) as [string, string];
        migrationCondition.remove({ migration, type, reason });
      }
      conditionsSeen.delete(migration);
      phasesSeen.delete(migration);
      namespacePhasesSeen.delete(migration);
    },
  };
}
