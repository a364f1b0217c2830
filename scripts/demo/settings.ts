// Names and paths the demo uses, in one place so the pieces (apps, operator, watch, printed
// commands) and examples/demo-istio-to-linkerd.yaml agree.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Everything the demo creates carries this label. Its operator only reconciles MeshMigrations
 * that carry it, so on a shared cluster it never acts on anybody else's migrations.
 */
export const DEMO_LABEL_KEY = "app.kubernetes.io/part-of";
export const DEMO_LABEL_VALUE = "mesh-migration-demo";
export const DEMO_SELECTOR = `${DEMO_LABEL_KEY}=${DEMO_LABEL_VALUE}`;

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
