// The operator's loop around the real reconciler, on the model cluster and a virtual clock: every
// change the model stores is an informer event, mapped to MeshMigration keys by the operator's own
// enqueue rules into the real work queue, and a worker reconciles each key the queue hands out
// (requeues as the controller does them). Rollouts go pod by pod, one change per rollout per tick,
// so a migration is the stream of events a real cluster sends. It counts what the operator wrote.
import type { MeshMigrationStatus } from "../../src/api/schema.ts";
import { OWNER_ANNOTATION } from "../../src/controller/bookkeeping.ts";
import { type EnqueueContext, enqueueChange, type WatchedKind } from "../../src/controller/enqueue.ts";
import type { MigrationPlan } from "../../src/controller/migration/types.ts";
import type { Clock } from "../../src/runtime/clock.ts";
import { WorkQueue } from "../../src/runtime/workqueue.ts";
import type { ModelCluster, ModelKind } from "./model-cluster.ts";
import type { Random } from "./scenarios.ts";

/** Timers that fire only when the test moves time on. */
export class ManualClock implements Clock {
  #now: number;
  #timers: Array<{ at: number; seq: number; callback: () => void }> = [];
  #seq = 0;

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, callback };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t !== handle);
  }

  /** Moves time on by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)
        .at(0);
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.callback();
    }
    this.#now = end;
  }
}

const WATCHED: Record<ModelKind, WatchedKind> = {
  MeshMigration: "MeshMigration",
  Namespace: "Namespace",
  Pod: "Pod",
  Deployment: "Workload",
  StatefulSet: "Workload",
  DaemonSet: "Workload",
  MutatingWebhookConfiguration: "Webhook",
};

export interface LoopOptions {
  migration: string;
  random: Random;
  /** Virtual time per tick of the cluster. Default 250 ms. */
  tickMs?: number;
  /** Chance a rollout makes its next change in a tick. Default 1. */
  progressProbability?: number;
  /** Gives up after this many ticks. Default 5,000. */
  tickLimit?: number;
  /** Virtual time to keep running once the migration is settled, to catch late writes. Default 60 s. */
  quietMs?: number;
  start?: number;
}

export interface LoopResult {
  phase: string | undefined;
  /** Status patches the model accepted. */
  statusWrites: number;
  reconciles: number;
  /** Writes that moved a condition's lastTransitionTime although its status stayed. */
  restampedConditions: number;
  /**
   * Status writes a status that shows every phase change needs: one for each reconcile whose
   * computed status had a migration or namespace phase other than the reconcile before it (the
   * first one included).
   */
  minimum: number;
  /** Phase changes of the migration and of each namespace (several may fall in one reconcile). */
  phaseChanges: number;
  ticks: number;
  elapsedMs: number;
}

/** The migration's phase and each namespace's, by name ("" for the migration). */
function phasesOf(status: MigrationPlan["status"] | undefined): Map<string, string> {
  const phases = new Map<string, string>([["", status?.phase ?? ""]]);
  for (const ns of status?.namespaces ?? []) phases.set(ns.name, ns.phase);
  return phases;
}

export async function runOperatorLoop(model: ModelCluster, options: LoopOptions): Promise<LoopResult> {
  const { migration } = options;
  const tickMs = options.tickMs ?? 250;
  const start = options.start ?? Date.parse("2026-12-01T00:00:00Z");
  const clock = new ManualClock(start);
  const queue = new WorkQueue<string>({ name: "sim", clock });
  const context: EnqueueContext = {
    allMigrations: () => model.caches.migrations.list().map((m) => m.metadata?.name ?? ""),
    namespaceOwner: (ns) => model.caches.namespaces.get(ns)?.metadata?.annotations?.[OWNER_ANNOTATION],
  };
  const firstWrite = model.writes.length;
  /** Conditions as last written, to catch a lastTransitionTime moved without a status change. */
  const written = new Map<string, { status: string; lastTransitionTime: string }>();
  let restamped = 0;
  const unsubscribe = model.onChange((kind, object) => {
    if (kind === "MeshMigration" && object.metadata?.name === migration) {
      for (const c of (object as { status?: MeshMigrationStatus }).status?.conditions ?? []) {
        const before = written.get(c.type);
        if (before && before.status === c.status && before.lastTransitionTime !== c.lastTransitionTime)
          restamped++;
        written.set(c.type, { status: c.status, lastTransitionTime: c.lastTransitionTime });
      }
    }
    enqueueChange(queue, WATCHED[kind], object, context);
  });

  let minimum = 0;
  let phaseChanges = 0;
  let lastPhases = new Map<string, string>();
  const reconciler = model.reconciler(() => new Date(clock.now()), {
    observeStatus: (_name, status) => {
      if (!status) return;
      const phases = phasesOf(status);
      const changed = [...phases].filter(([name, phase]) => lastPhases.get(name) !== phase).length;
      phaseChanges += changed;
      if (changed > 0) minimum++;
      lastPhases = phases;
    },
  });
  const statusWrites = () =>
    model.writes.slice(firstWrite).filter((w) => w.kind === "MeshMigrationStatus").length;
  let reconciles = 0;

  /** The worker: every key the queue hands out now, as Controller#process handles it. */
  const drain = async () => {
    for (let guard = 0; queue.len() > 0; guard++) {
      if (guard > 1000) throw new Error("the queue never empties: a reconcile requeues itself at once");
      const key = await queue.get();
      if (key === undefined) return;
      reconciles++;
      try {
        const result = await reconciler.reconcile(key);
        if (result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
          queue.forget(key);
          queue.addAfter(key, result.requeueAfterMs);
        } else if (result.requeueAfterMs === 0) {
          queue.forget(key);
          queue.add(key);
        } else queue.forget(key);
      } catch {
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  const phase = () => model.caches.migrations.get(migration)?.status?.phase;
  const settledPhase = () => ["Succeeded", "Holding", "RolledBack"].includes(phase() ?? "");

  queue.add(migration);
  let ticks = 0;
  let settledAt: number | undefined;
  const quietMs = options.quietMs ?? 60_000;
  for (; ticks < (options.tickLimit ?? 5_000); ticks++) {
    await drain();
    if (settledPhase() && !model.rolling) settledAt ??= clock.now();
    else settledAt = undefined;
    if (settledAt !== undefined && clock.now() - settledAt >= quietMs) break;
    model.tick(options.random, options.progressProbability ?? 1);
    clock.advance(tickMs);
  }
  queue.shutDown();
  unsubscribe();
  return {
    phase: phase(),
    statusWrites: statusWrites(),
    restampedConditions: restamped,
    reconciles,
    minimum,
    phaseChanges,
    ticks,
    elapsedMs: clock.now() - start,
  };
}
