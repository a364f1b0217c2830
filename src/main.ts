// Entry point: flags, kubeconfig, logger, signals. Wiring only.
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { DEFAULT_LEADER_ELECTION_ID, OPERATOR_NAMESPACE } from "./api/constants.ts";
import { parseDurationMs } from "./controller/duration.ts";
import { startOperator } from "./operator.ts";
import { createLogger } from "./runtime/logger.ts";

const { values } = parseArgs({
  options: {
    "health-bind-address": { type: "string", default: process.env.HEALTH_BIND_ADDRESS ?? "0.0.0.0:8080" },
    "leader-elect": { type: "string", default: process.env.LEADER_ELECT ?? "true" },
    "leader-election-namespace": {
      type: "string",
      default: process.env.LEADER_ELECTION_NAMESPACE ?? process.env.POD_NAMESPACE ?? OPERATOR_NAMESPACE,
    },
    "leader-election-id": {
      type: "string",
      default: process.env.LEADER_ELECTION_ID ?? DEFAULT_LEADER_ELECTION_ID,
    },
    "migration-selector": { type: "string", default: process.env.MIGRATION_SELECTOR ?? "" },
    // As controller-runtime's: how long a dead leader's Lease holds, how long the leader keeps
    // trying to renew, and how often everyone tries.
    "leader-election-lease-duration": {
      type: "string",
      default: process.env.LEADER_ELECTION_LEASE_DURATION ?? "15s",
    },
    "leader-election-renew-deadline": {
      type: "string",
      default: process.env.LEADER_ELECTION_RENEW_DEADLINE ?? "10s",
    },
    "leader-election-retry-period": {
      type: "string",
      default: process.env.LEADER_ELECTION_RETRY_PERIOD ?? "2s",
    },
    identity: { type: "string", default: process.env.POD_NAME },
    "log-level": { type: "string", default: process.env.LOG_LEVEL ?? "info" },
    workers: { type: "string", default: process.env.WORKERS ?? "2" },
  },
});

const log = createLogger({ level: values["log-level"] });

/** "15s", "1m", "500ms" as seconds (a Lease counts in whole seconds, the timers do not). */
function seconds(
  flag: "leader-election-lease-duration" | "leader-election-renew-deadline" | "leader-election-retry-period",
): number {
  const value = values[flag];
  let ms = Number.NaN;
  try {
    ms = parseDurationMs(value);
  } catch {
    // reported below
  }
  if (!(ms > 0)) {
    log.fatal(`--${flag}=${value} is not a duration such as 15s or 1m`);
    process.exit(2);
  }
  return ms / 1000;
}
const leaseTiming = {
  leaseDurationSeconds: seconds("leader-election-lease-duration"),
  renewDeadlineSeconds: seconds("leader-election-renew-deadline"),
  retryPeriodSeconds: seconds("leader-election-retry-period"),
};
if (!(leaseTiming.leaseDurationSeconds > leaseTiming.renewDeadlineSeconds)) {
  log.fatal("--leader-election-lease-duration must be longer than --leader-election-renew-deadline");
  process.exit(2);
}
const kubeConfig = new k8s.KubeConfig();
// $KUBECONFIG or ~/.kube/config when present, else the in-cluster service account.
kubeConfig.loadFromDefault();

const [host, port] = (() => {
  const address = values["health-bind-address"];
  const at = address.lastIndexOf(":");
  return [address.slice(0, at) || "0.0.0.0", Number(address.slice(at + 1))] as const;
})();

const operator = await startOperator({
  kubeConfig,
  log,
  identity: values.identity,
  healthHost: host,
  healthPort: port,
  leaderElection: values["leader-elect"] !== "false",
  leaderElectionNamespace: values["leader-election-namespace"],
  leaderElectionId: values["leader-election-id"],
  leaseTiming,
  migrationSelector: values["migration-selector"] || undefined,
  workers: Number(values.workers),
}).catch((error: unknown) => {
  // A configuration that cannot work (lease timing, an unusable health address): one line, exit.
  log.fatal(error instanceof Error ? error.message : String(error));
  process.exit(2);
});

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    operator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "unclean shutdown");
        process.exit(1);
      },
    );
  });
}
