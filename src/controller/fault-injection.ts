// Test-only fault injection, off unless MMO_FAULT_KILL_AFTER is set: the process
// kills itself with SIGKILL right after the n-th step of a given kind succeeds,
// so end-to-end tests can crash the operator at exact points of a migration.
// Format: a comma list of `<event reason>[#n]`, e.g. "OriginalRecorded#1,WorkloadRestarted#2".

export type FaultHook = (stepReason: string) => void;

export function faultHookFromEnv(env: NodeJS.ProcessEnv = process.env, kill = defaultKill): FaultHook {
  const spec = env.MMO_FAULT_KILL_AFTER;
  if (!spec) return () => {};
  const targets = new Map<string, number>();
  for (const part of spec.split(",")) {
    const [reason, n] = part.trim().split("#");
    if (reason) targets.set(reason, Number(n ?? 1));
  }
  const seen = new Map<string, number>();
  return (reason) => {
    const count = (seen.get(reason) ?? 0) + 1;
    seen.set(reason, count);
    if (targets.get(reason) === count) kill(reason, count);
  };
}

function defaultKill(reason: string, count: number): void {
  process.stderr.write(`fault injection: SIGKILL after ${reason} #${count}\n`);
  process.kill(process.pid, "SIGKILL");
}
