// The mesh-migration-operator command line: argument parsing and dispatch only.
//   mesh-migration-operator plan -f migration.yaml [--output table|json] [--kubeconfig PATH] [--context NAME]
import { text } from "node:stream/consumers";
import { parseArgs } from "node:util";
import {
  type CliIo,
  EXIT_ERROR,
  EXIT_OK,
  type OutputFormat,
  type PlanOptions,
  runPlan,
} from "./plan-command.ts";

export const USAGE = `Usage:
  mesh-migration-operator plan -f FILE [--output table|json] [--kubeconfig PATH] [--context NAME]

Commands:
  plan   Read the cluster and print what a MeshMigration would do, namespace by namespace, and
         what would break (cross-mesh mTLS and authorization policies, workloads the target mesh
         will not take). Changes nothing; the operator need not be installed.

Options:
  -f, --filename FILE   The MeshMigration manifest (YAML or JSON); "-" reads standard input.
  -o, --output FORMAT   table (default) or json (the plan as status.plan publishes it).
      --kubeconfig PATH Kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config).
      --context NAME    Kubeconfig context to use (default: the current context).
  -h, --help            Show this help.

Exit codes: 0 nothing stops the migration, 2 blockers or blocking warnings, 1 bad input or cluster error.
`;

export type CliCommand = { command: "help" } | { command: "plan"; options: PlanOptions };

/** Parses the arguments (without node and the script); throws an Error with a user-facing message. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      filename: { type: "string", short: "f" },
      output: { type: "string", short: "o", default: "table" },
      kubeconfig: { type: "string" },
      context: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, ...extra] = positionals;
  if (values.help || command === undefined || command === "help") return { command: "help" };
  if (command !== "plan") throw new Error(`unknown command "${command}"`);
  if (extra.length > 0) throw new Error(`unexpected argument "${extra[0]}"`);
  if (!values.filename) throw new Error("plan needs -f FILE (the MeshMigration manifest)");
  if (values.output !== "table" && values.output !== "json") {
    throw new Error(`--output must be table or json, not "${values.output}"`);
  }
  return {
    command: "plan",
    options: {
      file: values.filename,
      output: values.output as OutputFormat,
      kubeconfig: values.kubeconfig,
      context: values.context,
    },
  };
}

const processIo: CliIo = {
  stdout: (output) => process.stdout.write(output),
  stderr: (output) => process.stderr.write(output),
  readStdin: () => text(process.stdin),
};

/** Runs the command line and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let parsed: CliCommand;
  try {
    parsed = parseCliArgs(argv);
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT_ERROR;
  }
  if (parsed.command === "help") {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  return runPlan(parsed.options, io);
}

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2));
}
