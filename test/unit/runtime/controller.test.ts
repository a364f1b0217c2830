import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Controller, type Reconciler } from "../../../src/runtime/controller.ts";
import { createLogger } from "../../../src/runtime/logger.ts";
import { createMetrics, type Metrics } from "../../../src/runtime/metrics.ts";
import { exponentialBackoffRateLimiter } from "../../../src/runtime/rate-limiter.ts";
import { WorkQueue } from "../../../src/runtime/workqueue.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const settle = () => vi.advanceTimersByTimeAsync(0);

function setup(reconcile: Reconciler<string>, options: { workers?: number; synced?: () => boolean } = {}) {
  const metrics = createMetrics({ defaultMetrics: false });
  const queue = new WorkQueue<string>({
    name: "test",
    rateLimiter: exponentialBackoffRateLimiter({ baseDelayMs: 10, maxDelayMs: 1000 }),
    observer: metrics.workQueueObserver(),
  });
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "debug",
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  const controller = new Controller({
    name: "test",
    queue,
    reconcile,
    workers: options.workers,
    waitFor: options.synced ? [{ hasSynced: options.synced }] : [],
    metrics: metrics.reconcileObserver(),
    logger,
  });
  return { controller, queue, metrics, lines };
}

async function counter(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}

/** A promise the test settles by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("Controller", () => {
  it("reconciles added keys and forgets their backoff on success", async () => {
    let calls = 0;
    const { controller, queue, metrics } = setup(async (key) => {
      calls++;
      if (key === "a" && calls === 1) throw new Error("first try fails");
    });
    await controller.start();
    queue.add("a");
    await settle();
    expect(queue.numRequeues("a")).toBe(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toBe(2);
    expect(queue.numRequeues("a")).toBe(0);
    expect(await counter(metrics, "controller_runtime_reconcile_total", { result: "success" })).toBe(1);
    await controller.stop();
  });

  it("requeues a failing key with growing backoff, logs the error with the key and counts it", async () => {
    const attempts: number[] = [];
    const { controller, queue, metrics, lines } = setup(async () => {
      attempts.push(Date.now());
      if (attempts.length < 4) throw new Error("apiserver said no");
    });
    await controller.start();
    const start = Date.now();
    queue.add("ns/a");
    await vi.advanceTimersByTimeAsync(1000);
    expect(attempts.map((t) => t - start)).toEqual([0, 10, 30, 70]);

    expect(await counter(metrics, "controller_runtime_reconcile_errors_total", { controller: "test" })).toBe(
      3,
    );
    expect(await counter(metrics, "controller_runtime_reconcile_total", { result: "error" })).toBe(3);
    expect(await counter(metrics, "controller_runtime_reconcile_total", { result: "success" })).toBe(1);
    expect(await counter(metrics, "workqueue_retries_total", { name: "test" })).toBe(3);

    const errors = lines.filter((line) => line.level === "error");
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatchObject({ key: "ns/a", err: { message: "apiserver said no" } });
    await controller.stop();
  });

  it("honours requeueAfterMs", async () => {
    const attempts: number[] = [];
    const { controller, queue, metrics } = setup(async () => {
      attempts.push(Date.now());
      return attempts.length === 1 ? { requeueAfterMs: 5_000 } : undefined;
    });
    await controller.start();
    const start = Date.now();
    queue.add("a");
    await vi.advanceTimersByTimeAsync(4_999);
    expect(attempts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts.map((t) => t - start)).toEqual([0, 5_000]);
    expect(await counter(metrics, "controller_runtime_reconcile_total", { result: "requeue_after" })).toBe(1);
    await controller.stop();
  });

  it("requeues with backoff on { requeue: true } without counting an error", async () => {
    let calls = 0;
    const { controller, queue, metrics } = setup(async () => {
      calls++;
      return calls === 1 ? { requeue: true } : undefined;
    });
    await controller.start();
    queue.add("a");
    await vi.advanceTimersByTimeAsync(10);
    expect(calls).toBe(2);
    expect(await counter(metrics, "controller_runtime_reconcile_total", { result: "requeue" })).toBe(1);
    expect(await counter(metrics, "controller_runtime_reconcile_errors_total", {})).toBe(0);
    await controller.stop();
  });

  it("waits for the caches to sync before the first reconcile", async () => {
    let synced = false;
    const reconciled: string[] = [];
    const { controller, queue } = setup(
      async (key) => {
        reconciled.push(key);
      },
      { synced: () => synced },
    );
    queue.add("a");
    const started = controller.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(reconciled).toEqual([]);
    synced = true;
    await vi.advanceTimersByTimeAsync(100);
    expect(await started).toBe(true);
    await settle();
    expect(reconciled).toEqual(["a"]);
    await controller.stop();
  });

  it("runs different keys in parallel but never one key twice at once", async () => {
    const running = new Map<string, number>();
    let maxSameKey = 0;
    let maxParallel = 0;
    const gates: Array<() => void> = [];
    const { controller, queue } = setup(
      async (key) => {
        running.set(key, (running.get(key) ?? 0) + 1);
        maxSameKey = Math.max(maxSameKey, running.get(key)!);
        maxParallel = Math.max(
          maxParallel,
          [...running.values()].reduce((a, b) => a + b, 0),
        );
        const gate = deferred();
        gates.push(gate.resolve);
        await gate.promise;
        running.set(key, running.get(key)! - 1);
      },
      { workers: 3 },
    );
    await controller.start();
    queue.add("a");
    queue.add("b");
    await settle();
    queue.add("a");
    queue.add("a");
    await settle();
    expect(maxParallel).toBe(2);
    expect(maxSameKey).toBe(1);
    for (let round = 0; round < 3; round++) {
      for (const open of gates.splice(0)) open();
      await settle();
    }
    expect(maxSameKey).toBe(1);
    expect(queue.len()).toBe(0);
    await controller.stop();
  });

  it("on stop, takes no new keys and lets the in-flight reconcile finish", async () => {
    const gate = deferred();
    const reconciled: string[] = [];
    const { controller, queue } = setup(async (key) => {
      await gate.promise;
      reconciled.push(key);
    });
    await controller.start();
    queue.add("a");
    await settle();
    queue.add("b");
    const stopped = controller.stop();
    let done = false;
    void stopped.then(() => {
      done = true;
    });
    await settle();
    expect(done).toBe(false);
    gate.resolve();
    await settle();
    expect(done).toBe(true);
    expect(reconciled).toEqual(["a"]);
    expect(controller.isRunning()).toBe(false);
  });

  it("aborts the reconcile signal when in-flight work outlives the stop deadline", async () => {
    let signal: AbortSignal | undefined;
    const { controller, queue } = setup(async (_key, s) => {
      signal = s;
      await new Promise<void>((resolve) => s.addEventListener("abort", () => resolve()));
    });
    await controller.start();
    queue.add("a");
    await settle();
    const stopped = controller.stop({ timeoutMs: 1_000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopped;
    expect(signal?.aborted).toBe(true);
  });

  it("returns false from start() when stopped before the caches synced", async () => {
    const { controller } = setup(async () => {}, { synced: () => false });
    const started = controller.start();
    await vi.advanceTimersByTimeAsync(300);
    await controller.stop();
    expect(await started).toBe(false);
  });
});
