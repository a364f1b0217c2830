// `npm run rbac:derive -- [audit.log] [deploy dir] [--since=ISO] [--exclude-user-agent=UA]`:
// derives the operator ServiceAccount's requests from a kube-apiserver audit log (default: the
// local cluster's) and compares them with the RBAC of `kubectl kustomize deploy/`.
// Exit 0 when they match, 1 when they differ, 2 on bad input.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseAllDocuments } from "yaml";
import { readState } from "../../test/cluster/local-cluster.ts";
import { compare, deriveUses, grantsFor, isClean, parseAuditLog, report } from "./evidence.ts";

export const OPERATOR_SERVICE_ACCOUNT = {
  namespace: "mesh-migration-system",
  name: "mesh-migration-operator",
};
export const OPERATOR_USERNAME = `system:serviceaccount:${OPERATOR_SERVICE_ACCOUNT.namespace}:${OPERATOR_SERVICE_ACCOUNT.name}`;

/** $KUBECTL, else the one built with the local cluster, else kubectl on PATH. */
function kubectlBinary(): string {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  const binDir = readState()?.binDir;
  return binDir && existsSync(join(binDir, "kubectl")) ? join(binDir, "kubectl") : "kubectl";
}

/** The objects `kubectl kustomize DIR` renders (what `kubectl apply -k` sends). */
export function renderKustomize(dir: string, kubectl = kubectlBinary()): unknown[] {
  const yaml = execFileSync(kubectl, ["kustomize", dir], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(yaml).map((d) => d.toJS() as unknown);
}

function main(): number {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      since: { type: "string" },
      "exclude-user-agent": { type: "string", multiple: true },
    },
  });
  const auditLog = positionals[0] ?? readState()?.auditLog;
  const deployDir = resolve(positionals[1] ?? resolve(import.meta.dirname, "../../deploy"));
  if (!auditLog || !existsSync(auditLog)) {
    console.error(
      `usage: npm run rbac:derive -- [audit.log] [deploy dir]; no audit log at ${auditLog ?? "(none: the local cluster is not running)"}`,
    );
    return 2;
  }
  const since = values.since ? new Date(values.since) : undefined;
  if (since && Number.isNaN(since.getTime())) {
    console.error(`--since=${values.since} is not a date`);
    return 2;
  }
  const derived = deriveUses(parseAuditLog(readFileSync(auditLog, "utf8")), {
    username: OPERATOR_USERNAME,
    ...(since ? { since } : {}),
    excludeUserAgents: values["exclude-user-agent"] ?? [],
  });
  const comparison = compare(derived, grantsFor(renderKustomize(deployDir), OPERATOR_SERVICE_ACCOUNT));
  console.log(`${OPERATOR_USERNAME} in ${auditLog}, against ${deployDir}:`);
  console.log(report(derived, comparison));
  return isClean(comparison) ? 0 : 1;
}

if (import.meta.main) process.exitCode = main();
