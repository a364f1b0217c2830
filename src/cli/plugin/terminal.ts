// The process's own terminal, as the watch uses it: is standard output a terminal, its size, the
// keys typed on standard input (raw mode, so q needs no Enter) and the signals that end a watch.
import type { Terminal } from "./watch.ts";

/** Colour on a terminal, unless NO_COLOR (no-color.org) is set to anything non-empty. */
export function colorWanted(tty: boolean, env: NodeJS.ProcessEnv): boolean {
  return tty && !env.NO_COLOR;
}

export function processTerminal(env: NodeJS.ProcessEnv = process.env): Terminal {
  const tty = process.stdout.isTTY === true;
  return {
    tty,
    color: colorWanted(tty, env),
    size: () => (tty ? { columns: process.stdout.columns, rows: process.stdout.rows } : undefined),
    write: (text) => {
      process.stdout.write(text);
    },
    listenForKeys(onKey) {
      const stdin = process.stdin;
      if (!stdin.isTTY) return () => {};
      const onData = (data: Buffer) => {
        for (const key of data.toString("utf8")) onKey(key);
      };
      stdin.setRawMode(true);
      stdin.on("data", onData);
      stdin.resume();
      return () => {
        stdin.off("data", onData);
        stdin.setRawMode(false);
        stdin.pause();
      };
    },
    listenForSignals(onSignal) {
      const onInterrupt = () => onSignal("SIGINT");
      const onTerminate = () => onSignal("SIGTERM");
      process.on("SIGINT", onInterrupt);
      process.on("SIGTERM", onTerminate);
      return () => {
        process.off("SIGINT", onInterrupt);
        process.off("SIGTERM", onTerminate);
      };
    },
    listenForResize(onResize) {
      if (!tty) return () => {};
      process.stdout.on("resize", onResize);
      return () => process.stdout.off("resize", onResize);
    },
  };
}
