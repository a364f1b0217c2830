// Names and paths the demo uses, in one place so the pieces (apps, operator, watch, printed
// commands) and examples/demo-istio-to-linkerd.yaml agree.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Everything the demo creates carries this label, so --clean finds it. */
export const DEMO_LABEL_KEY = "app.kubernetes.io/part-of";
export const DEMO_LABEL_VALUE = "mesh-migration-demo";

/**
 * The label the end-to-end suites put on their MeshMigrations (test/support/operator.ts RUN_LABEL):
 * each suite runs its own operator for them on the same local cluster.
 */
export const E2E_RUN_LABEL = "e2e.meshmigration.io/run";
/**
 * The demo's operator owns the demo's cluster: it handles every MeshMigration a user applies
 * there (the README's "Using it" included), except the test suites', which have operators of
 * their own.
 */
export const DEMO_OPERATOR_SELECTOR = `!${E2E_RUN_LABEL}`;

export const MIGRATION_NAME = "demo-istio-to-linkerd";
export const MIGRATION_FILE = join(REPO_ROOT, "examples", `${MIGRATION_NAME}.yaml`);
export const CRD_DIR = join(REPO_ROOT, "crds");
/** The batch the example holds after (spec.stopAfterBatch). */
export const GATE_BATCH = "canary";

/** Lease of the demo's operator: apart from the default one and from the e2e suites' ones. */
export const LEADER_ELECTION_ID = "mesh-migration-demo";
export const LEADER_ELECTION_NAMESPACE = "default";

export interface DemoPaths {
  clusterDir: string;
  operatorLog: string;
  operatorPidFile: string;
}

export function demoPaths(clusterDir: string): DemoPaths {
  return {
    clusterDir,
    operatorLog: join(clusterDir, "logs", "demo-operator.log"),
    operatorPidFile: join(clusterDir, "demo-operator.pid"),
  };
}
