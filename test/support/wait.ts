// Waiting on conditions with a deadline: the only synchronisation tests use.

export interface WaitOptions {
  /** Give up after this many milliseconds. */
  timeoutMs?: number;
  /** Poll interval in milliseconds. */
  intervalMs?: number;
  /** What is being waited for, for the error message. */
  description?: string;
}

/**
 * Polls `probe` until it returns a value other than undefined/false, and returns that value.
 * Errors thrown by the probe are remembered and reported if the deadline passes.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const intervalMs = options.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    try {
      const value = await probe();
      lastValue = value;
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const what = options.description ?? "condition";
      const detail = lastError
        ? `; last error: ${String(lastError)}`
        : `; last value: ${JSON.stringify(lastValue)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
