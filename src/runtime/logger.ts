// JSON logs on stdout (pino), one child logger per component so every line says where it came from.
import { type DestinationStream, type Level, type Logger, pino } from "pino";

export type { Logger };

const LEVELS: ReadonlySet<string> = new Set<Level | "silent">([
  "fatal",
  "error",
  "warn",
  "info",
  "debug",
  "trace",
  "silent",
]);

export interface LoggerOptions {
  /** fatal | error | warn | info | debug | trace | silent. Default: LOG_LEVEL, else info. */
  level?: string;
  /** The `name` field on every line. Default: mesh-migration-operator. */
  name?: string;
  /** Where lines go; default stdout. Tests pass a stream to capture them. */
  destination?: DestinationStream;
  /** Environment to read LOG_LEVEL from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Resolves the level from the option, then LOG_LEVEL, then "info".
 * An unknown level is an operator typo: fail at start-up rather than log at a surprising level.
 */
export function resolveLogLevel(level: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = (level ?? env.LOG_LEVEL ?? "info").trim().toLowerCase();
  if (!LEVELS.has(chosen)) {
    throw new Error(`unknown log level "${chosen}"; use one of ${[...LEVELS].join(", ")}`);
  }
  return chosen;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pinoOptions = {
    name: options.name ?? "mesh-migration-operator",
    level: resolveLogLevel(options.level, options.env),
    // Errors logged as { err } keep their stack and any Kubernetes status body.
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

/** A child logger whose every line carries `component`. */
export function componentLogger(parent: Logger, component: string, bindings: Record<string, unknown> = {}) {
  return parent.child({ component, ...bindings });
}

/** A logger that drops everything: the default for library code and tests that pass none. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
