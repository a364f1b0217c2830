import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  defaultControllerRateLimiter,
  exponentialBackoffRateLimiter,
  tokenBucketRateLimiter,
} from "../../../src/runtime/rate-limiter.ts";
import { WorkQueue, type WorkQueueObserver } from "../../../src/runtime/workqueue.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Resolves pending promise callbacks without moving the clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);

/** Tracks whether a promise has resolved yet, and with what. */
function track<T>(promise: Promise<T>): { settled: boolean; value: T | undefined } {
  const state: { settled: boolean; value: T | undefined } = { settled: false, value: undefined };
  promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}

describe("WorkQueue", () => {
  it("hands out keys in order and queues a key only once while it waits", async () => {
    const queue = new WorkQueue<string>();
    queue.add("a");
    queue.add("b");
    queue.add("a");
    expect(queue.len()).toBe(2);
    expect(await queue.get()).toBe("a");
    expect(await queue.get()).toBe("b");
    expect(queue.len()).toBe(0);
  });

  it("resolves a waiting get() when a key is added", async () => {
    const queue = new WorkQueue<string>();
    const next = track(queue.get());
    await settle();
    expect(next.settled).toBe(false);
    queue.add("a");
    await settle();
    expect(next.value).toBe("a");
  });

  it("never hands a key to a second worker while the first holds it", async () => {
    const queue = new WorkQueue<string>();
    queue.add("a");
    const first = await queue.get();
    expect(first).toBe("a");

    queue.add("a");
    const second = track(queue.get());
    await settle();
    expect(queue.len()).toBe(0);
    expect(second.settled).toBe(false);

    queue.done("a");
    await settle();
    expect(second.value).toBe("a");
  });

  it("re-queues a key added during processing exactly once, after done()", async () => {
    const queue = new WorkQueue<string>();
    queue.add("a");
    await queue.get();
    queue.add("a");
    queue.add("a");
    queue.done("a");
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe("a");
    queue.done("a");
    expect(queue.len()).toBe(0);
  });

  it("does not re-queue a key that was not added again during processing", async () => {
    const queue = new WorkQueue<string>();
    queue.add("a");
    await queue.get();
    queue.done("a");
    expect(queue.len()).toBe(0);
  });

  it("adds a key after the delay of addAfter, the earliest delay winning", async () => {
    const queue = new WorkQueue<string>();
    queue.addAfter("a", 100);
    queue.addAfter("a", 50);
    queue.addAfter("a", 200);
    await vi.advanceTimersByTimeAsync(49);
    expect(queue.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe("a");
    queue.done("a");
    await vi.advanceTimersByTimeAsync(500);
    expect(queue.len()).toBe(0);
  });

  it("backs a failing key off exponentially up to the cap, and forget() resets it", async () => {
    const queue = new WorkQueue<string>({
      rateLimiter: exponentialBackoffRateLimiter({ baseDelayMs: 5, maxDelayMs: 40 }),
    });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      queue.addRateLimited("a");
      let waited = 0;
      while (queue.len() === 0) {
        await vi.advanceTimersByTimeAsync(1);
        waited++;
      }
      delays.push(waited);
      await queue.get();
      queue.done("a");
    }
    expect(delays).toEqual([5, 10, 20, 40, 40, 40]);
    expect(queue.numRequeues("a")).toBe(6);

    queue.forget("a");
    expect(queue.numRequeues("a")).toBe(0);
    queue.addRateLimited("a");
    await vi.advanceTimersByTimeAsync(5);
    expect(queue.len()).toBe(1);
  });

  it("keeps each key's backoff separate", async () => {
    const queue = new WorkQueue<string>({
      rateLimiter: exponentialBackoffRateLimiter({ baseDelayMs: 5, maxDelayMs: 1000 }),
    });
    queue.addRateLimited("a");
    queue.addRateLimited("a");
    queue.addRateLimited("b");
    expect(queue.numRequeues("a")).toBe(2);
    expect(queue.numRequeues("b")).toBe(1);
  });

  it("spreads a burst of retries over time with the global token bucket", async () => {
    const queue = new WorkQueue<string>({ rateLimit: { baseDelayMs: 1, qps: 10, burst: 2 } });
    queue.addRateLimited("a");
    queue.addRateLimited("b");
    queue.addRateLimited("c");
    await vi.advanceTimersByTimeAsync(1);
    expect(queue.len()).toBe(2);
    await vi.advanceTimersByTimeAsync(98);
    expect(queue.len()).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(queue.len()).toBe(3);
  });

  it("resolves every waiting get() with undefined on shutdown and ignores later adds", async () => {
    const queue = new WorkQueue<string>();
    const first = track(queue.get());
    const second = track(queue.get());
    queue.addAfter("later", 10);
    queue.shutDown();
    await settle();
    expect(first).toEqual({ settled: true, value: undefined });
    expect(second).toEqual({ settled: true, value: undefined });

    queue.add("a");
    await vi.advanceTimersByTimeAsync(20);
    expect(queue.len()).toBe(0);
    expect(await queue.get()).toBeUndefined();
    expect(queue.isShuttingDown()).toBe(true);
  });

  it("reports adds, depth, retries and durations to its observer under its name", async () => {
    const calls: string[] = [];
    const observer: WorkQueueObserver = {
      onAdd: (name) => calls.push(`add:${name}`),
      onDepth: (name, depth) => calls.push(`depth:${name}:${depth}`),
      onRetry: (name) => calls.push(`retry:${name}`),
      onQueueLatency: (name, seconds) => calls.push(`latency:${name}:${seconds}`),
      onWorkDuration: (name, seconds) => calls.push(`work:${name}:${seconds}`),
    };
    const queue = new WorkQueue<string>({ name: "q", observer });
    queue.add("a");
    await vi.advanceTimersByTimeAsync(250);
    await queue.get();
    await vi.advanceTimersByTimeAsync(500);
    queue.done("a");
    queue.addRateLimited("a");
    expect(calls).toEqual(["add:q", "depth:q:1", "depth:q:0", "latency:q:0.25", "work:q:0.5", "retry:q"]);
  });
});

describe("rate limiters", () => {
  it("exponential backoff doubles from the base and stops at the cap", () => {
    const limiter = exponentialBackoffRateLimiter({ baseDelayMs: 5, maxDelayMs: 5 * 60_000 });
    const delays = Array.from({ length: 20 }, () => limiter.when("k"));
    expect(delays.slice(0, 4)).toEqual([5, 10, 20, 40]);
    expect(Math.max(...delays)).toBe(5 * 60_000);
    expect(delays.at(-1)).toBe(5 * 60_000);
  });

  it("the token bucket lets the burst through, then one token per 1/qps", () => {
    let now = 0;
    const limiter = tokenBucketRateLimiter({ qps: 10, burst: 3, now: () => now });
    expect([limiter.when("a"), limiter.when("b"), limiter.when("c")]).toEqual([0, 0, 0]);
    expect(limiter.when("d")).toBe(100);
    expect(limiter.when("e")).toBe(200);
    now = 1_000;
    // Refilled by 10 tokens, capped at the burst of 3, minus the 2 spent ahead of time.
    expect(limiter.when("f")).toBe(0);
  });

  it("the default controller limiter waits the longer of the two", () => {
    let now = 0;
    const limiter = defaultControllerRateLimiter({ baseDelayMs: 5, qps: 1, burst: 1, now: () => now });
    expect(limiter.when("a")).toBe(5);
    expect(limiter.when("b")).toBe(1000);
    now = 10_000;
    limiter.forget("a");
    expect(limiter.when("a")).toBe(5);
  });
});
