// kubectl meshmigration (the kubectl-meshmigration executable): argument parsing and dispatch only.
import { text } from "node:stream/consumers";
import { parseCliArgs } from "../main.ts";
import { EXIT_ERROR, EXIT_OK, runPlan } from "../plan-command.ts";
import { parsePluginArgs, UsageError } from "./args.ts";
import { type PluginIo, runGet, runList, runVerb } from "./commands.ts";
import { COMMAND_HELP, MAIN_HELP } from "./help.ts";
import { loadKubeConfig, migrationApi } from "./migration-api.ts";
import { processTerminal } from "./terminal.ts";

const processIo: PluginIo = {
  stdout: (output) => process.stdout.write(output),
  stderr: (output) => process.stderr.write(output),
  readStdin: () => text(process.stdin),
  terminal: () => processTerminal(),
  connect: (connection) => migrationApi(loadKubeConfig(connection)),
  now: () => Date.now(),
};

/** plan as the operator's CLI runs it: the same flags, messages and exit codes. */
async function runPlanCommand(argv: readonly string[], io: PluginIo): Promise<number> {
  let parsed: ReturnType<typeof parseCliArgs>;
  try {
    parsed = parseCliArgs(["plan", ...argv]);
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}\n\n${COMMAND_HELP.plan}`);
    return EXIT_ERROR;
  }
  if (parsed.command === "help") {
    io.stdout(COMMAND_HELP.plan);
    return EXIT_OK;
  }
  return runPlan(parsed.options, io);
}

let stdoutGuarded = false;

/** A reader that went away (get --watch | head) is the end of the output, not a crash. */
function endQuietlyWhenStdoutCloses(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
  });
}

/** Runs the plugin with the arguments after the program name and returns the exit code. */
export async function runPlugin(argv: readonly string[], io: PluginIo = processIo): Promise<number> {
  if (io === processIo) endQuietlyWhenStdoutCloses();
  let parsed: ReturnType<typeof parsePluginArgs>;
  try {
    parsed = parsePluginArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const help = error.topic ? `kubectl meshmigration ${error.topic} --help` : "kubectl meshmigration --help";
    io.stderr(`error: ${error.message}\nRun ${help} for usage.\n`);
    return EXIT_ERROR;
  }
  switch (parsed.command) {
    case "help":
      io.stdout(parsed.topic ? COMMAND_HELP[parsed.topic] : MAIN_HELP);
      return EXIT_OK;
    case "plan":
      return runPlanCommand(parsed.argv, io);
    case "get":
      return runGet(parsed, io);
    case "list":
      return runList(parsed, io);
    case "verb":
      return runVerb(parsed, io);
  }
}

/**
 * Runs the plugin as the process and sets its exit code. A watch request the apiserver never
 * answered can outlive the command's last use of it: once done, the process ends within a second.
 */
export async function runPluginProcess(argv: readonly string[]): Promise<void> {
  const code = await runPlugin(argv);
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1_000).unref();
}

if (import.meta.main) await runPluginProcess(process.argv.slice(2));
