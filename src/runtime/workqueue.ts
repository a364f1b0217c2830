// A keyed, rate-limited work queue with client-go's guarantees:
// - a key waits in the queue at most once, however often it is added (dedupe);
// - a key is never handed to two workers at once: adding a key that is being processed marks it
//   dirty, and it is queued again when the worker calls done();
// - retries wait max(per-key exponential backoff, global token bucket).
import { type Clock, systemClock } from "./clock.ts";
import {
  type ControllerRateLimiterOptions,
  defaultControllerRateLimiter,
  type RateLimiter,
} from "./rate-limiter.ts";

/** Hooks the metrics module plugs in; the queue itself knows nothing of Prometheus. */
export interface WorkQueueObserver {
  onAdd(name: string): void;
  onDepth(name: string, depth: number): void;
  onRetry(name: string): void;
  /** Seconds a key waited in the queue before a worker took it. */
  onQueueLatency(name: string, seconds: number): void;
  /** Seconds between a worker taking a key and calling done(). */
  onWorkDuration(name: string, seconds: number): void;
}

export interface WorkQueueOptions<K extends string> {
  /** Label for metrics and logs. Default "default". */
  name?: string;
  /** Decides retry delays; default max(exponential 5 ms → 5 min per key, 10 qps burst 100 overall). */
  rateLimiter?: RateLimiter<K>;
  /** Tunes the default rate limiter when `rateLimiter` is not given. */
  rateLimit?: ControllerRateLimiterOptions;
  observer?: WorkQueueObserver;
  clock?: Clock;
}

interface Delayed {
  readyAt: number;
  handle: unknown;
}

export class WorkQueue<K extends string> {
  readonly name: string;
  readonly #clock: Clock;
  readonly #rateLimiter: RateLimiter<K>;
  readonly #observer: WorkQueueObserver | undefined;
  /** Keys ready to be handed out, in order. */
  readonly #queue: K[] = [];
  /** Keys that need processing (queued, or to be re-queued when their worker is done), with when they were added. */
  readonly #dirty = new Map<K, number>();
  /** Keys a worker holds, with when it took them. */
  readonly #processing = new Map<K, number>();
  readonly #delayed = new Map<K, Delayed>();
  readonly #waiters: Array<(key: K | undefined) => void> = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions<K> = {}) {
    this.name = options.name ?? "default";
    this.#clock = options.clock ?? systemClock;
    this.#rateLimiter =
      options.rateLimiter ??
      defaultControllerRateLimiter<K>({ now: () => this.#clock.now(), ...options.rateLimit });
    this.#observer = options.observer;
  }

  /** Marks `key` as needing processing. Cheap to call often: duplicates collapse. */
  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.set(key, this.#clock.now());
    this.#observer?.onAdd(this.name);
    // A key being processed is queued again by done(), never handed to a second worker.
    if (this.#processing.has(key)) return;
    this.#queue.push(key);
    this.#reportDepth();
    this.#dispatch();
  }

  /** Adds `key` after `delayMs`. If the key is already waiting, the earlier time wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const readyAt = this.#clock.now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing) {
      if (existing.readyAt <= readyAt) return;
      this.#clock.clearTimeout(existing.handle);
    }
    const handle = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { readyAt, handle });
  }

  /** Adds `key` after the rate limiter's delay: the way to retry a failed key. */
  addRateLimited(key: K): void {
    if (this.#shuttingDown) return;
    this.#observer?.onRetry(this.name);
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  /** Resets the key's backoff; call after the key was processed successfully. */
  forget(key: K): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /**
   * The next key to process; the caller owns it until done(key). Resolves undefined once the
   * queue is shut down (keys still queued then are dropped: the next start re-lists everything).
   */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile it goes back into the queue. */
  done(key: K): void {
    const startedAt = this.#processing.get(key);
    if (startedAt === undefined) return;
    this.#processing.delete(key);
    this.#observer?.onWorkDuration(this.name, (this.#clock.now() - startedAt) / 1000);
    if (this.#dirty.has(key) && !this.#shuttingDown) {
      this.#queue.push(key);
      this.#reportDepth();
      this.#dispatch();
    }
  }

  /** Stops the queue: waiting get() calls resolve undefined, pending delayed adds are cancelled. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { handle } of this.#delayed.values()) this.#clock.clearTimeout(handle);
    this.#delayed.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    this.#reportDepth();
    for (const resolve of this.#waiters.splice(0)) resolve(undefined);
  }

  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Keys ready to be handed out (not counting ones being processed or waiting for a delay). */
  len(): number {
    return this.#queue.length;
  }

  /** Keys waiting for addAfter/addRateLimited delays. */
  pendingDelayed(): number {
    return this.#delayed.size;
  }

  /** Keys workers hold right now. */
  inFlight(): number {
    return this.#processing.size;
  }

  #take(): K | undefined {
    const key = this.#queue.shift();
    if (key === undefined) return undefined;
    const now = this.#clock.now();
    const addedAt = this.#dirty.get(key) ?? now;
    this.#dirty.delete(key);
    this.#processing.set(key, now);
    this.#reportDepth();
    this.#observer?.onQueueLatency(this.name, (now - addedAt) / 1000);
    return key;
  }

  #dispatch(): void {
    while (this.#waiters.length > 0 && this.#queue.length > 0) {
      const resolve = this.#waiters.shift()!;
      resolve(this.#take());
    }
  }

  #reportDepth(): void {
    this.#observer?.onDepth(this.name, this.#queue.length);
  }
}
