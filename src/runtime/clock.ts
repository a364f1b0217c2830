// Time and timers behind one small interface, so the queue, controller, informer and leader
// elector can run on a fake clock in tests.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. Timers are unref'd: a pending retry alone never keeps the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    // Looked up at call time so that fake timers installed later still apply.
    const handle = globalThis.setTimeout(callback, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout(handle) {
    if (handle !== undefined) globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  },
};
