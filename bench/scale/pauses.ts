// Pause latency: `spec.paused: true` written at a random moment of a rollback, then the time
// until the operator's last write to a namespace or workload after it (0 when it wrote none),
// read once the cluster has been quiet for QUIET_MS. Then unpaused, and again.
import type { MigrationDriver } from "./migration-driver.ts";
import type { WriteWatch } from "./write-watch.ts";

const QUIET_MS = 2_000;
const MAX_GAP_MS = 1_500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface PauseResult {
  latenciesMs: number[];
}

async function lastWriteAfter(watch: WriteWatch, since: number): Promise<number> {
  for (;;) {
    const last = Math.max(since, ...watch.writes.filter((w) => w.at >= since).map((w) => w.at));
    if (Date.now() - last >= QUIET_MS) return last;
    await sleep(100);
  }
}

export async function measurePauses(
  driver: MigrationDriver,
  suffix: string,
  watch: WriteWatch,
  count: number,
  timeoutMs: number,
): Promise<PauseResult> {
  await driver.patchSpec(suffix, { rollback: true });
  const latenciesMs: number[] = [];
  while (latenciesMs.length < count) {
    await sleep(Math.random() * MAX_GAP_MS); // the moment, not a synchronisation
    if ((await driver.phase(suffix)) === "RolledBack") break;
    const pausedAt = Date.now();
    await driver.patchSpec(suffix, { paused: true });
    latenciesMs.push((await lastWriteAfter(watch, pausedAt)) - pausedAt);
    await driver.patchSpec(suffix, { paused: false });
  }
  await driver.waitForPhase(suffix, "RolledBack", timeoutMs);
  return { latenciesMs };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
