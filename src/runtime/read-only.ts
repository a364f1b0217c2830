// Objects from an informer's cache are shared by every reader and must never be mutated
// (sample-controller's rule): a mutation would silently change what every other reader sees and
// what the next diff is computed against. Deep-freezing every object costs too much in
// production, so freezing is an assertion that is on only in development and tests, where a
// mutation then throws a TypeError at the line that did it. Code that needs to change an object
// works on mutableCopy(obj).

/**
 * True when read-only assertions are on: MMO_ASSERT_READONLY=1|0 decides if set, otherwise they
 * are on when NODE_ENV is development or test (vitest sets test).
 */
export function readOnlyAssertionsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const explicit = env.MMO_ASSERT_READONLY;
  if (explicit !== undefined && explicit !== "") return explicit === "1" || explicit === "true";
  return env.NODE_ENV === "development" || env.NODE_ENV === "test";
}

/**
 * Marks a cached object as shared: deep-freezes it when assertions are on (`enabled`), otherwise
 * returns it untouched. Returns the same object either way.
 */
export function readOnly<T>(obj: T, enabled: boolean = readOnlyAssertionsEnabled()): T {
  if (enabled) deepFreeze(obj);
  return obj;
}

/** A deep copy the caller may change freely. */
export function mutableCopy<T>(obj: T): T {
  return structuredClone(obj);
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}
