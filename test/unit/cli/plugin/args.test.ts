// The command line as a user types it after `kubectl meshmigration`.
import { describe, expect, it } from "vitest";
import { parsePluginArgs, UsageError } from "../../../../src/cli/plugin/args.ts";

const noConnection = { kubeconfig: undefined, context: undefined };

function usageError(argv: string[]): UsageError {
  try {
    parsePluginArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`${argv.join(" ")} was accepted`);
}

describe("kubectl meshmigration arguments", () => {
  it("reads get with --watch, --workloads, --kubeconfig and --context in any order after the command", () => {
    expect(
      parsePluginArgs(["get", "--context", "prod", "mm-1", "-w", "--kubeconfig", "/k", "--workloads"]),
    ).toEqual({
      command: "get",
      name: "mm-1",
      watch: true,
      allWorkloads: true,
      connection: { kubeconfig: "/k", context: "prod" },
    });
  });

  it("reads each steering verb with its NAME", () => {
    for (const verb of ["pause", "resume", "rollback", "undo-rollback"] as const) {
      expect(parsePluginArgs([verb, "mm-1"])).toEqual({
        command: "verb",
        name: "mm-1",
        request: { verb },
        connection: noConnection,
      });
    }
  });

  it("reads promote's three forms and refuses --to with --full", () => {
    const to = (argv: string[]) => {
      const parsed = parsePluginArgs(argv);
      return parsed.command === "verb" && parsed.request.verb === "promote" ? parsed.request.to : undefined;
    };
    expect(to(["promote", "mm-1"])).toEqual({ kind: "next" });
    expect(to(["promote", "mm-1", "--to", "wave-2"])).toEqual({ kind: "batch", batch: "wave-2" });
    expect(to(["promote", "mm-1", "--full"])).toEqual({ kind: "full" });
    expect(usageError(["promote", "mm-1", "--to", "wave-2", "--full"]).message).toContain("alternatives");
  });

  it("passes plan's arguments through unchanged, for the operator CLI's parser", () => {
    expect(parsePluginArgs(["plan", "-f", "m.yaml", "-o", "json"])).toEqual({
      command: "plan",
      argv: ["-f", "m.yaml", "-o", "json"],
    });
    expect(parsePluginArgs(["plan", "--help"])).toEqual({ command: "help", topic: "plan" });
  });

  it("gives help for the plugin and for each command", () => {
    expect(parsePluginArgs([])).toEqual({ command: "help", topic: undefined });
    expect(parsePluginArgs(["--help"])).toEqual({ command: "help", topic: undefined });
    expect(parsePluginArgs(["help", "promote"])).toEqual({ command: "help", topic: "promote" });
    expect(parsePluginArgs(["get", "-h"])).toEqual({ command: "help", topic: "get" });
  });

  it("says what is wrong, and whose help to read", () => {
    expect(usageError(["get"])).toMatchObject({
      message: "get needs the MeshMigration's NAME",
      topic: "get",
    });
    expect(usageError(["pause", "a", "b"]).message).toBe('unexpected argument "b"');
    expect(usageError(["pause", "a", "--watch"])).toMatchObject({
      message: "--watch is not a flag of pause",
      topic: "pause",
    });
    expect(usageError(["abort", "a"]).message).toBe('unknown command "abort"');
    expect(usageError(["--context", "x", "get", "a"]).message).toContain("put the command first");
    expect(usageError(["list", "extra"]).message).toBe('unexpected argument "extra"');
  });
});
