// What `kubectl meshmigration [COMMAND] --help` prints.
import { USAGE as OPERATOR_USAGE } from "../main.ts";

export const COMMANDS = [
  "get",
  "list",
  "pause",
  "resume",
  "promote",
  "rollback",
  "undo-rollback",
  "plan",
] as const;
export type CommandName = (typeof COMMANDS)[number];

const CONNECTION_FLAGS = `      --kubeconfig PATH   Kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config).
      --context NAME      Kubeconfig context to use (default: the current context).
  -h, --help              Show this help.`;

const STEERING_NOTE = `The change is one merge patch of the MeshMigration's spec, conditional on the resourceVersion
read: when someone else edits the spec meanwhile, that is reported (exit 1) and nothing is written
(a status the operator writes meanwhile only makes it read the object again).
Exit codes: 0 changed, 1 error (not found, cluster error, concurrent edit), 2 refused (it makes no
sense for this migration as it is; nothing was changed).`;

export const MAIN_HELP = `kubectl meshmigration: watch and steer MeshMigrations (mesh-migration-operator).
Runs as a kubectl plugin (kubectl meshmigration ...) or alone (kubectl-meshmigration ...).

Usage:
  kubectl meshmigration COMMAND [NAME] [flags]

Commands:
  get NAME [--watch]                  The migration as a tree: batches, namespaces, workloads, with
                                      phases, pods per mesh, progress, the gate and what needs a person.
  list                                Every MeshMigration, one line each.
  pause NAME                          Start nothing new (spec.paused: true); rollouts in flight settle.
  resume NAME                         Continue a paused migration (spec.paused: false).
  promote NAME [--to BATCH | --full]  Move the gate (spec.stopAfterBatch) to the next batch, to BATCH,
                                      or remove it.
  rollback NAME                       Return every namespace it touched to its original mesh
                                      (spec.rollback: true).
  undo-rollback NAME                  Migrate forward again (spec.rollback: false).
  plan -f FILE                        What a MeshMigration would do, read from the cluster; changes nothing.

Flags:
${CONNECTION_FLAGS}

Run kubectl meshmigration COMMAND --help for a command's flags and exit codes.
`;

const GET_HELP = `Usage:
  kubectl meshmigration get NAME [--watch] [--workloads] [flags]

Shows the MeshMigration as a tree, batches → namespaces → workloads, each with its phase and its
pods on the target mesh, on the source, on no mesh and double-meshed; progress bars for the
migration and its current batch; the elapsed time; the gate; and the message of every condition
that needs a person. Workloads are listed for the namespaces that are moving or stuck.

Flags:
  -w, --watch             Redraw on every change (from a watch on the cluster) until the migration is
                          Ready (Succeeded, Holding at its gate, or RolledBack) or you quit with q or
                          Ctrl-C. When standard output is not a terminal, each change prints the whole
                          tree again, without colour or cursor movement.
      --workloads         List the workloads of every namespace, settled ones too.
${CONNECTION_FLAGS}

Exit codes: 0 shown (with --watch: Ready, or you quit with q), 1 error (not found, cluster error,
deleted while watched), 130 interrupted (Ctrl-C).
Colour is used on a terminal unless NO_COLOR is set.
`;

const LIST_HELP = `Usage:
  kubectl meshmigration list [flags]

Lists every MeshMigration: its phase, the direction it moves in (forward or rollback), source and
target, namespaces done over total, the current batch and its age.

Flags:
${CONNECTION_FLAGS}

Exit codes: 0 listed, 1 error.
`;

function steeringHelp(usage: string, what: string): string {
  return `Usage:
  kubectl meshmigration ${usage} [flags]

${what}

Flags:
${CONNECTION_FLAGS}

${STEERING_NOTE}
`;
}

const PROMOTE_HELP = `Usage:
  kubectl meshmigration promote NAME [--to BATCH | --full] [flags]

Moves the gate (spec.stopAfterBatch) forward: to the next batch (the migration holds again after
it), to BATCH, or away with --full (every remaining batch runs). A gate moved onto the last batch
holds nothing, so it is removed instead. Refused when the migration has no gate, when it is rolling
back, and when BATCH is unknown or not after the gate.

Flags:
      --to BATCH          Let every batch up to and including BATCH run, then hold.
      --full              Remove the gate.
${CONNECTION_FLAGS}

${STEERING_NOTE}
`;

const PLAN_HELP = OPERATOR_USAGE.replaceAll("mesh-migration-operator plan", "kubectl meshmigration plan");

export const COMMAND_HELP: Record<CommandName, string> = {
  get: GET_HELP,
  list: LIST_HELP,
  pause: steeringHelp(
    "pause NAME",
    "Sets spec.paused: true: no new namespace step or restart starts; rollouts already running settle.\n" +
      "Refused when it is already paused.",
  ),
  resume: steeringHelp(
    "resume NAME",
    "Sets spec.paused: false: the migration continues where it stopped. Refused when it is not paused.",
  ),
  promote: PROMOTE_HELP,
  rollback: steeringHelp(
    "rollback NAME",
    "Sets spec.rollback: true: every namespace the migration touched gets its recorded labels and\n" +
      "annotations back (the ones in flight first, then in reverse order), pod-template rewrites are\n" +
      "undone, workloads restart and their pods are verified back on the source mesh. Refused when it\n" +
      "is already rolling back.",
  ),
  "undo-rollback": steeringHelp(
    "undo-rollback NAME",
    "Sets spec.rollback: false: the migration goes forward again (up to its gate, if it has one).\n" +
      "Refused when it is not rolling back.",
  ),
  plan: PLAN_HELP,
};
