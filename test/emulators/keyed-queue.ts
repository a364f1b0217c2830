// A tiny work queue: keys are deduplicated while pending, handled one at a time,
// and retried after a delay when the handler fails.

export interface KeyedQueue {
  add(key: string): void;
  /** Stops handling; pending keys are dropped. */
  stop(): void;
  /** Resolves once nothing is pending or being handled (for startup). */
  idle(): Promise<void>;
}

export function createKeyedQueue(
  handle: (key: string) => Promise<void>,
  onError: (key: string, error: unknown) => void,
  retryMs = 1000,
): KeyedQueue {
  const pending = new Set<string>();
  let running = false;
  let stopped = false;
  let idleWaiters: Array<() => void> = [];

  const drain = async () => {
    if (running) return;
    running = true;
    while (!stopped && pending.size > 0) {
      const key = pending.values().next().value as string;
      pending.delete(key);
      try {
        await handle(key);
      } catch (error) {
        onError(key, error);
        setTimeout(() => add(key), retryMs).unref();
      }
    }
    running = false;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const add = (key: string) => {
    if (stopped) return;
    pending.add(key);
    void drain();
  };

  return {
    add,
    stop: () => {
      stopped = true;
      pending.clear();
    },
    idle: () =>
      running || pending.size > 0
        ? new Promise<void>((resolve) => idleWaiters.push(resolve))
        : Promise.resolve(),
  };
}
