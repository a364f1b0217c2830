import { describe, expect, it } from "vitest";
import { componentLogger, createLogger, resolveLogLevel } from "../../../src/runtime/logger.ts";

function capture(level?: string, env: NodeJS.ProcessEnv = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    env,
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  return { logger, lines };
}

describe("logger", () => {
  it("writes JSON lines with level, time, message and the component of child loggers", () => {
    const { logger, lines } = capture("info");
    componentLogger(logger, "workqueue", { queue: "meshmigration" }).info({ key: "a" }, "added");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      name: "mesh-migration-operator",
      component: "workqueue",
      queue: "meshmigration",
      key: "a",
      msg: "added",
    });
    expect(typeof lines[0]?.time).toBe("string");
  });

  it("takes the level from the option, else LOG_LEVEL, else info", () => {
    expect(resolveLogLevel("debug", { LOG_LEVEL: "warn" })).toBe("debug");
    expect(resolveLogLevel(undefined, { LOG_LEVEL: "WARN" })).toBe("warn");
    expect(resolveLogLevel(undefined, {})).toBe("info");
    const { logger, lines } = capture(undefined, { LOG_LEVEL: "warn" });
    logger.info("dropped");
    logger.warn("kept");
    expect(lines.map((l) => l.msg)).toEqual(["kept"]);
  });

  it("rejects an unknown level", () => {
    expect(() => resolveLogLevel("verbose", {})).toThrow(/unknown log level/);
  });

  it("keeps an error's message and stack under err", () => {
    const { logger, lines } = capture("info");
    logger.error({ err: new Error("boom") }, "failed");
    expect(lines[0]?.err).toMatchObject({
      message: "boom",
      type: "Error",
      stack: expect.stringContaining("boom"),
    });
  });
});
