// Starting and stopping the control plane's processes. Each runs detached in its
// own process group with its output in a log file, so `cluster:up` can return
// while the cluster keeps running, and `cluster:down` can stop it later.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

export interface StartedProcess {
  name: string;
  pid: number;
  log: string;
  /** How it was started, so a fault test can start it again the same way. */
  command?: string;
  args?: string[];
}

export function startDetached(name: string, command: string, args: string[], log: string): StartedProcess {
  const fd = openSync(log, "a");
  const child = spawn(command, args, { detached: true, stdio: ["ignore", fd, fd], env: process.env });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  child.unref();
  return { name, pid: child.pid, log, command, args };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the process group, then SIGKILL if it has not exited by the deadline. */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  };
  if (!isAlive(pid)) return;
  signalGroup("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) signalGroup("SIGKILL");
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** The last lines of a process's log, for an error message that says why it failed to start. */
export function logTail(path: string, lines = 40): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
