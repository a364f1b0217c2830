// The commands the demo prints at the end, ready to copy and paste. Pure: the paths come in.
import { GATE_BATCH } from "./settings.ts";

export interface CommandsInput {
  migration: string;
  kubeconfig: string;
  /** The directory holding the cluster's kubectl. */
  binDir: string;
  /** The directory holding the kubectl-meshmigration shim (see plugin-shim.ts). */
  pluginDir: string;
  operatorPidFile: string;
  operatorLog: string;
  /** A namespace of the demo, for the pod and namespace examples. */
  sampleNamespace: string;
}

const quote = (text: string) => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`);

export function demoCommands(input: CommandsInput): string {
  const name = input.migration;
  const mm = `mm ${name}`;
  const patch = (json: string) => `kubectl patch ${mm} --type=merge -p '${json}'`;
  const lines = [
    "Use the cluster from your shell, with the kubectl built with it (a kubectl more than one minor",
    "version older than the cluster prints a version-skew warning on every command) and the",
    "kubectl meshmigration plugin on the Node this checkout pins:",
    `  export KUBECONFIG=${quote(input.kubeconfig)}`,
    `  export PATH=${quote(input.pluginDir)}:${quote(input.binDir)}:"$PATH"`,
    "",
    "Watch it (a live tree: batches, namespaces, workloads, pods per mesh):",
    `  kubectl meshmigration get ${name} --watch`,
    "  kubectl meshmigration list",
    `  kubectl describe ${mm}   # conditions and an Event for every step`,
    `  kubectl wait --for=condition=Ready mm/${name} --timeout=5m`,
    `  kubectl get pods -n ${input.sampleNamespace} -o custom-columns='POD:.metadata.name,CONTAINERS:.spec.containers[*].name,INIT:.spec.initContainers[*].name'`,
    `  kubectl get ns ${input.sampleNamespace} -o jsonpath='{.metadata.annotations.meshmigration\\.io/original}{"\\n"}'   # what rollback restores`,
    "",
    "Pause and resume (nothing new starts while paused; rollouts in flight settle):",
    `  kubectl meshmigration pause ${name}`,
    `  kubectl meshmigration resume ${name}`,
    "",
    "Gate the batches (migrate up to a batch, then hold; phase Holding, Ready=True):",
    `  ${patch(`{"spec":{"stopAfterBatch":"${GATE_BATCH}"}}`)}   # set a gate`,
    `  kubectl meshmigration promote ${name}   # advance it to the next batch (--full removes it)`,
    "",
    "Roll back (every namespace the migration touched returns to its recorded labels and annotations):",
    `  kubectl meshmigration rollback ${name}`,
    `  kubectl meshmigration undo-rollback ${name}   # forward again`,
    "",
    "Without the plugin, each control is one spec edit:",
    `  ${patch('{"spec":{"paused":true}}')}`,
    `  ${patch('{"spec":{"rollback":true}}')}`,
    "",
    "Logs of the demo's operator:",
    `  tail -f ${quote(input.operatorLog)}`,
    "",
    "Stop everything the demo started (its operator and the local cluster):",
    "  npm run demo -- --stop",
    "or remove only what the demo created (namespaces, MeshMigration, operator), keeping the cluster:",
    "  npm run demo -- --clean",
  ];
  return lines.join("\n");
}
