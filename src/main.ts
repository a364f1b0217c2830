// Entry point: flags, kubeconfig, logger, signals. Wiring only.
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { OPERATOR_NAMESPACE } from "./api/constants.ts";
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
      default: process.env.LEADER_ELECTION_ID ?? "mesh-migration-operator",
    },
    "migration-selector": { type: "string", default: process.env.MIGRATION_SELECTOR ?? "" },
    identity: { type: "string", default: process.env.POD_NAME },
    "log-level": { type: "string", default: process.env.LOG_LEVEL ?? "info" },
    workers: { type: "string", default: process.env.WORKERS ?? "2" },
  },
});

const log = createLogger({ level: values["log-level"] });
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
  migrationSelector: values["migration-selector"] || undefined,
  workers: Number(values.workers),
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
