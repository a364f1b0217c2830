// When a computed status is worth a write. The status is always computed whole from the facts;
// what is compared with the published one decides only whether it is written now. A namespace that
// is moving (relabelled, restarting, verifying, rolling back) changes its pod and workload counts
// and its progress message with nearly every pod event; those details are written with every
// change a user would act on (a phase of a namespace, a batch or the migration, a condition, a
// problem, a double-meshed or unmanaged pod, a warning) and exactly once the namespace settles
// (its phase changes then), never on their own. Everything else is compared whole. And a status
// this process has just written is not written again while its cache has yet to show it.
import type { NamespacePhase } from "../api/schema.ts";

/** Namespace phases whose counts and message are progress details, not a reason to write. */
const MOVING_PHASES: ReadonlySet<NamespacePhase> = new Set<NamespacePhase>([
  "Relabelled",
  "Restarting",
  "Verifying",
  "RollingBack",
]);

/** The details of a moving namespace, left out of the comparison. */
const PROGRESS_DETAILS = ["workloads", "pods", "message"] as const;

/**
 * The status as it is compared: nulls and undefined dropped, keys sorted, moving namespaces'
 * details left out (and, when asked, the conditions' lastTransitionTime).
 */
export function materialStatus(
  status: Record<string, unknown>,
  options: { ignoreTransitionTimes?: boolean } = {},
): string {
  const material: Record<string, unknown> = { ...status };
  if (Array.isArray(status.namespaces)) material.namespaces = status.namespaces.map(withoutProgressDetails);
  if (options.ignoreTransitionTimes && Array.isArray(status.conditions)) {
    material.conditions = status.conditions.map((c) =>
      c && typeof c === "object" ? { ...c, lastTransitionTime: undefined } : c,
    );
  }
  return JSON.stringify(sortDeep(material));
}

/** Whether `next` differs from the published `current` in anything worth a write. */
export function statusNeedsWrite(current: Record<string, unknown>, next: Record<string, unknown>): boolean {
  return materialStatus(current) !== materialStatus(next);
}

function withoutProgressDetails(entry: unknown): unknown {
  if (!entry || typeof entry !== "object") return entry;
  const ns = entry as Record<string, unknown>;
  if (!MOVING_PHASES.has(ns.phase as NamespacePhase)) return ns;
  const out = { ...ns };
  for (const key of PROGRESS_DETAILS) delete out[key];
  return out;
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined && v !== null)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortDeep(v)]),
    );
  }
  return value;
}

/**
 * The status this process last wrote for each migration, until its cache shows the write: a
 * reconcile woken by another event before then reads the status as it was before the write, and
 * would patch the same status again over a resourceVersion that is gone (a conflict, for nothing).
 * Keyed by the resourceVersion the write was made over; any newer object ends the wait.
 */
export class StatusWritesInFlight {
  readonly #written = new Map<string, { over: string | undefined; material: string }>();

  /** Whether `next` is what was just written over this very version of the object. */
  alreadyWritten(
    name: string,
    cachedResourceVersion: string | undefined,
    next: Record<string, unknown>,
  ): boolean {
    const written = this.#written.get(name);
    if (!written) return false;
    if (written.over !== cachedResourceVersion) {
      // The cache moved on (our write arrived, or another change did): compare with it from now on.
      this.#written.delete(name);
      return false;
    }
    // Conditions computed from the stale status restamp the ones the write changed: not a change.
    return written.material === materialStatus(next, { ignoreTransitionTimes: true });
  }

  wrote(name: string, overResourceVersion: string | undefined, status: Record<string, unknown>): void {
    this.#written.set(name, {
      over: overResourceVersion,
      material: materialStatus(status, { ignoreTransitionTimes: true }),
    });
  }

  forget(name: string): void {
    this.#written.delete(name);
  }
}
