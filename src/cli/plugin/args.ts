// Parsing `kubectl meshmigration COMMAND ...` into a command; nothing else. The command comes first,
// as kubectl passes a plugin's arguments through unchanged.
import { parseArgs } from "node:util";
import { COMMANDS, type CommandName } from "./help.ts";
import type { PromoteTo, VerbRequest } from "./verbs.ts";

export interface Connection {
  kubeconfig: string | undefined;
  context: string | undefined;
}

export type PluginCommand =
  | { command: "help"; topic: CommandName | undefined }
  | { command: "get"; name: string; watch: boolean; allWorkloads: boolean; connection: Connection }
  | { command: "list"; connection: Connection }
  | { command: "verb"; name: string; request: VerbRequest; connection: Connection }
  | { command: "plan"; argv: string[] };

/** A mistake in the arguments; `topic` says whose help to print after the message. */
export class UsageError extends Error {
  readonly topic: CommandName | undefined;
  constructor(message: string, topic: CommandName | undefined) {
    super(message);
    this.topic = topic;
  }
}

// Every flag of every command, parsed at once; a flag given to a command it does not belong to is
// refused after parsing.
const OPTIONS = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
  help: { type: "boolean", short: "h" },
  watch: { type: "boolean", short: "w" },
  workloads: { type: "boolean" },
  to: { type: "string" },
  full: { type: "boolean" },
} as const;

const OWN_FLAGS: Partial<Record<CommandName, ReadonlyArray<keyof typeof OPTIONS>>> = {
  get: ["watch", "workloads"],
  promote: ["to", "full"],
};

function isCommand(word: string): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word);
}

function parseFor(command: CommandName, args: readonly string[]) {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
  const own = OWN_FLAGS[command] ?? [];
  for (const flag of ["watch", "workloads", "to", "full"] as const) {
    if (parsed.values[flag] !== undefined && !own.includes(flag)) {
      throw new UsageError(`--${flag} is not a flag of ${command}`, command);
    }
  }
  return parsed;
}

/** The one NAME a command takes. */
function nameFrom(command: CommandName, positionals: readonly string[]): string {
  const [name, ...extra] = positionals;
  if (name === undefined) throw new UsageError(`${command} needs the MeshMigration's NAME`, command);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, command);
  return name;
}

function promoteTo(values: { to?: string | undefined; full?: boolean | undefined }): PromoteTo {
  if (values.to !== undefined && values.full) {
    throw new UsageError("--to and --full are alternatives: give one of them, or neither", "promote");
  }
  if (values.to !== undefined) return { kind: "batch", batch: values.to };
  return values.full ? { kind: "full" } : { kind: "next" };
}

/** Parses the arguments after the program name; throws a UsageError with a message for a person. */
export function parsePluginArgs(argv: readonly string[]): PluginCommand {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help")
    return { command: "help", topic: undefined };
  if (first === "help") {
    const [topic] = rest;
    if (topic !== undefined && !isCommand(topic))
      throw new UsageError(`unknown command "${topic}"`, undefined);
    return { command: "help", topic };
  }
  if (!isCommand(first)) {
    const hint = first.startsWith("-") ? ": put the command first, then its flags" : "";
    throw new UsageError(`unknown command "${first}"${hint}`, undefined);
  }
  // plan keeps the operator CLI's own flags and exit codes: its arguments go through as they are.
  if (first === "plan") {
    return rest.includes("-h") || rest.includes("--help")
      ? { command: "help", topic: "plan" }
      : { command: "plan", argv: rest };
  }
  const { values, positionals } = parseFor(first, rest);
  if (values.help) return { command: "help", topic: first };
  const connection: Connection = { kubeconfig: values.kubeconfig, context: values.context };
  if (first === "list") {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, "list");
    return { command: "list", connection };
  }
  const name = nameFrom(first, positionals);
  if (first === "get") {
    return {
      command: "get",
      name,
      watch: values.watch === true,
      allWorkloads: values.workloads === true,
      connection,
    };
  }
  const request: VerbRequest =
    first === "promote" ? { verb: "promote", to: promoteTo(values) } : { verb: first };
  return { command: "verb", name, request, connection };
}
