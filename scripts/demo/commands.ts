// The commands the demo prints at the end, ready to copy and paste. Pure: the paths come in.
import { GATE_BATCH } from "./settings.ts";

export interface CommandsInput {
  migration: string;
  kubeconfig: string;
  /** The directory holding the cluster's kubectl. */
  binDir: string;
  operatorPidFile: string;
  operatorLog: string;
  /** A namespace of the demo, for the pod and namespace examples. */
  sampleNamespace: string;
}

const quote = (text: string) => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`);

export function demoCommands(input: CommandsInput): string {
  const mm = `mm ${input.migration}`;
  const patch = (json: string) => `kubectl patch ${mm} --type=merge -p '${json}'`;
  const lines = [
    "Use the cluster from your shell (kubectl here is the one built with the cluster; yours works too):",
    `  export KUBECONFIG=${quote(input.kubeconfig)}`,
    `  export PATH=${quote(input.binDir)}:"$PATH"`,
    "",
    "Watch it:",
    "  kubectl get mm -w",
    `  kubectl describe ${mm}`,
    `  kubectl wait --for=condition=Ready mm/${input.migration} --timeout=5m`,
    `  kubectl get pods -n ${input.sampleNamespace} -o custom-columns='POD:.metadata.name,CONTAINERS:.spec.containers[*].name,INIT:.spec.initContainers[*].name'`,
    `  kubectl get ns ${input.sampleNamespace} -o jsonpath='{.metadata.annotations.meshmigration\\.io/original}{"\\n"}'   # what rollback restores`,
    "",
    "Pause and resume (nothing new starts while paused; rollouts in flight settle):",
    `  ${patch('{"spec":{"paused":true}}')}`,
    `  ${patch('{"spec":{"paused":false}}')}`,
    "",
    "Gate the batches (migrate up to a batch, then hold; phase Holding, Ready=True):",
    `  ${patch(`{"spec":{"stopAfterBatch":"${GATE_BATCH}"}}`)}`,
    `  kubectl patch ${mm} --type=json -p '[{"op":"remove","path":"/spec/stopAfterBatch"}]'   # advance: remove the gate`,
    "",
    "Roll back (every namespace the migration touched returns to its recorded labels and annotations):",
    `  ${patch('{"spec":{"rollback":true}}')}`,
    `  ${patch('{"spec":{"rollback":false}}')}   # forward again`,
    "",
    "Logs of the demo's operator:",
    `  tail -f ${quote(input.operatorLog)}`,
    "",
    "Stop everything:",
    `  kill $(cat ${quote(input.operatorPidFile)})   # the demo's operator`,
    "  npm run cluster:down",
    "or remove only what the demo created (namespaces, MeshMigration, operator), keeping the cluster:",
    "  npm run demo -- --clean",
  ];
  return lines.join("\n");
}
