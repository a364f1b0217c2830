// The worker loop of a sample-controller style controller: wait for the caches to sync, then
// N workers take keys from the queue and reconcile them. Success forgets the key's backoff;
// failure requeues it with backoff and logs the error with the key. The queue guarantees one key
// is never reconciled by two workers at once, so workers > 1 is safe.

import { describeApiError, statusCode } from "./api-error.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type Logger, silentLogger } from "./logger.ts";
import type { WorkQueue } from "./workqueue.ts";

export type ReconcileOutcome = "success" | "error" | "requeue" | "requeue_after";

export interface ReconcileResult {
  /** Reconcile the key again after this many ms (a poll), with its backoff reset. */
  requeueAfterMs?: number;
  /** Reconcile the key again with backoff although nothing failed (e.g. waiting on something). */
  requeue?: boolean;
}

/**
 * Brings the world in line with the desired state for `key`. Throw to retry with backoff.
 * `signal` aborts when the controller is stopped and the stop deadline has passed.
 * Returning nothing means success.
 */
export type Reconciler<K extends string> = (
  key: K,
  signal: AbortSignal,
) => Promise<ReconcileResult | undefined> | Promise<void>;

/** Hook the metrics module plugs in (controller_runtime_reconcile_*). */
export interface ReconcileObserver {
  onReconcile(controller: string, outcome: ReconcileOutcome, seconds: number): void;
}

/** Anything that can tell whether its cache is filled (ResilientInformer does). */
export interface Syncable {
  hasSynced(): boolean;
}

export interface ControllerOptions<K extends string> {
  name: string;
  queue: WorkQueue<K>;
  reconcile: Reconciler<K>;
  /** Parallel workers. Default 1. */
  workers?: number;
  /** Caches that must be synced before the first reconcile. */
  waitFor?: readonly Syncable[];
  /** How often to check the caches while waiting. Default 100 ms. */
  syncPollMs?: number;
  metrics?: ReconcileObserver;
  logger?: Logger;
  clock?: Clock;
}

export interface StopOptions {
  /** How long in-flight reconciles may take to finish before their signal is aborted. Default 30 s. */
  timeoutMs?: number;
}

export class Controller<K extends string> {
  readonly name: string;
  readonly #queue: WorkQueue<K>;
  readonly #reconcile: Reconciler<K>;
  readonly #workers: number;
  readonly #waitFor: readonly Syncable[];
  readonly #syncPollMs: number;
  readonly #metrics: ReconcileObserver | undefined;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #abort = new AbortController();
  #running: Promise<void>[] = [];
  #stopping = false;
  #started = false;
  #wakeSyncWait: (() => void) | undefined;

  constructor(options: ControllerOptions<K>) {
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1)
      throw new Error(`workers must be a positive integer: ${workers}`);
    this.name = options.name;
    this.#queue = options.queue;
    this.#reconcile = options.reconcile;
    this.#workers = workers;
    this.#waitFor = options.waitFor ?? [];
    this.#syncPollMs = options.syncPollMs ?? 100;
    this.#metrics = options.metrics;
    this.#log = (options.logger ?? silentLogger()).child({ controller: options.name });
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Waits for the caches to sync, then starts the workers. Resolves true once they run, or
   * false if stop() came first. Workers run until stop().
   */
  async start(): Promise<boolean> {
    if (this.#started) throw new Error(`controller ${this.name} already started`);
    this.#started = true;
    if (!(await this.#waitForCacheSync())) return false;
    this.#log.info({ workers: this.#workers }, "caches synced; starting workers");
    for (let i = 0; i < this.#workers; i++) this.#running.push(this.#worker());
    return true;
  }

  /**
   * Stops taking keys, lets in-flight reconciles finish (up to the deadline, then aborts their
   * signal) and shuts the queue down. Keys still queued are dropped: they are level-triggered and
   * the next leader re-lists them.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wakeSyncWait?.();
    this.#queue.shutDown();
    const timeoutMs = options.timeoutMs ?? 30_000;
    let timer: unknown;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = this.#clock.setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const finished = await Promise.race([Promise.all(this.#running).then(() => "done" as const), deadline]);
    this.#clock.clearTimeout(timer);
    if (finished === "timeout") {
      this.#log.warn(
        { timeoutMs, inFlight: this.#queue.inFlight() },
        "in-flight reconciles outlived the stop deadline; aborting them",
      );
    }
    this.#abort.abort(new Error(`controller ${this.name} stopped`));
    this.#log.info("stopped");
  }

  /** True between a successful start() and stop(). */
  isRunning(): boolean {
    return this.#running.length > 0 && !this.#stopping;
  }

  async #waitForCacheSync(): Promise<boolean> {
    let logged = false;
    while (!this.#stopping && !this.#waitFor.every((cache) => cache.hasSynced())) {
      if (!logged) {
        this.#log.info("waiting for caches to sync");
        logged = true;
      }
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(resolve, this.#syncPollMs);
        this.#wakeSyncWait = () => {
          this.#clock.clearTimeout(timer);
          resolve();
        };
      });
      this.#wakeSyncWait = undefined;
    }
    return !this.#stopping;
  }

  async #worker(): Promise<void> {
    for (;;) {
      const key = await this.#queue.get();
      if (key === undefined) return;
      await this.#process(key);
    }
  }

  async #process(key: K): Promise<void> {
    const startedAt = this.#clock.now();
    let outcome: ReconcileOutcome;
    try {
      const result = (await this.#reconcile(key, this.#abort.signal)) ?? {};
      if (result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        this.#queue.forget(key);
        this.#queue.addAfter(key, result.requeueAfterMs);
        outcome = "requeue_after";
      } else if (result.requeue) {
        this.#queue.addRateLimited(key);
        outcome = "requeue";
      } else {
        this.#queue.forget(key);
        outcome = "success";
      }
    } catch (error) {
      this.#queue.addRateLimited(key);
      outcome = "error";
      // An API error is one line (verb, object, code, reason, message); anything else is a bug
      // and keeps its stack.
      const fields = { key, retries: this.#queue.numRequeues(key) };
      if (statusCode(error) === 409) {
        // A write planned from a cache that was behind: expected; planned again on fresh state.
        this.#log.info(fields, `${describeApiError("reconcile", key, error)}; planning again on fresh state`);
      } else if (statusCode(error) !== undefined) {
        this.#log.error(
          fields,
          `reconcile failed: ${describeApiError("reconcile", key, error)}; requeued with backoff`,
        );
      } else {
        this.#log.error({ ...fields, err: error }, "reconcile failed; requeued with backoff");
      }
    } finally {
      this.#queue.done(key);
    }
    const seconds = (this.#clock.now() - startedAt) / 1000;
    this.#metrics?.onReconcile(this.name, outcome, seconds);
    this.#log.debug({ key, outcome, seconds }, "reconciled");
  }
}
