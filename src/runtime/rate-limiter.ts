// Rate limiters that decide how long a key waits before it is retried, in the manner of
// client-go's workqueue: per-key exponential backoff combined with a global token bucket.

export interface RateLimiter<K extends string = string> {
  /** How long `key` must wait now (ms). Every call counts as one more retry of `key`. */
  when(key: K): number;
  /** Resets the key's backoff (after a success). */
  forget(key: K): void;
  /** How many times the key has been retried since it was last forgotten. */
  numRequeues(key: K): number;
}

export interface ExponentialBackoffOptions {
  /** First retry delay in ms. Default 5. */
  baseDelayMs?: number;
  /** Upper bound of the delay in ms. Default 5 minutes. */
  maxDelayMs?: number;
}

/** base · 2^failures, capped: one slow key never slows the others. */
export function exponentialBackoffRateLimiter<K extends string>(
  options: ExponentialBackoffOptions = {},
): RateLimiter<K> {
  const baseDelayMs = options.baseDelayMs ?? 5;
  const maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
  if (!(baseDelayMs > 0) || !(maxDelayMs >= baseDelayMs)) {
    throw new Error(`invalid backoff: base ${baseDelayMs} ms, max ${maxDelayMs} ms`);
  }
  const failures = new Map<K, number>();
  return {
    when(key) {
      const count = failures.get(key) ?? 0;
      failures.set(key, count + 1);
      // 2^count overflows to Infinity long after it passed the cap; Math.min handles both.
      return Math.min(baseDelayMs * 2 ** count, maxDelayMs);
    },
    forget(key) {
      failures.delete(key);
    },
    numRequeues(key) {
      return failures.get(key) ?? 0;
    },
  };
}

export interface TokenBucketOptions {
  /** Sustained rate, tokens per second. Default 10. */
  qps?: number;
  /** Bucket size: how many retries may go at once. Default 100. */
  burst?: number;
  /** Milliseconds clock; injectable for tests. Default Date.now. */
  now?: () => number;
}

/**
 * A global token bucket (like golang.org/x/time/rate's Reserve): each call takes one token;
 * when the bucket is empty the caller is told how long until its token exists. Tokens may go
 * negative, so a burst of retries is spread out at `qps` rather than all refused.
 */
export function tokenBucketRateLimiter<K extends string>(options: TokenBucketOptions = {}): RateLimiter<K> {
  const qps = options.qps ?? 10;
  const burst = options.burst ?? 100;
  const now = options.now ?? Date.now;
  if (!(qps > 0) || !(burst >= 1)) throw new Error(`invalid token bucket: qps ${qps}, burst ${burst}`);
  let tokens = burst;
  let last = now();
  return {
    when() {
      const at = now();
      tokens = Math.min(burst, tokens + ((at - last) / 1000) * qps);
      last = at;
      tokens -= 1;
      return tokens >= 0 ? 0 : Math.ceil((-tokens / qps) * 1000);
    },
    forget() {},
    numRequeues() {
      return 0;
    },
  };
}

/** The longest delay of several limiters; requeue counts come from the one that counts most. */
export function maxOfRateLimiter<K extends string>(...limiters: RateLimiter<K>[]): RateLimiter<K> {
  return {
    when(key) {
      let delay = 0;
      for (const limiter of limiters) delay = Math.max(delay, limiter.when(key));
      return delay;
    },
    forget(key) {
      for (const limiter of limiters) limiter.forget(key);
    },
    numRequeues(key) {
      let count = 0;
      for (const limiter of limiters) count = Math.max(count, limiter.numRequeues(key));
      return count;
    },
  };
}

export interface ControllerRateLimiterOptions extends ExponentialBackoffOptions, TokenBucketOptions {}

/** client-go's DefaultControllerRateLimiter: max(per-key exponential backoff, global token bucket). */
export function defaultControllerRateLimiter<K extends string>(
  options: ControllerRateLimiterOptions = {},
): RateLimiter<K> {
  return maxOfRateLimiter<K>(exponentialBackoffRateLimiter<K>(options), tokenBucketRateLimiter<K>(options));
}
