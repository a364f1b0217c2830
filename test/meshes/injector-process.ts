// A mesh's real injector, run as a child process of the mesh host on a fixed
// loopback port: "serving" means the process runs and answers TLS on that port;
// taking it down stops the process (by pid), as a crashed or scaled-down
// injector would be. Same shape as the emulators' AdmissionServer, so the
// availability controller drives both alike.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { connect } from "node:tls";
import { logTail } from "../cluster/processes.ts";
import type { InjectorEndpoint } from "../emulators/admission-server.ts";
import type { Logger } from "../emulators/log.ts";

export interface InjectorProcessOptions {
  /** Name of the injector (also its Deployment's), for logs. */
  name: string;
  /** URL path the webhook configuration points at. */
  path: string;
  /** The port the process listens on for admission reviews; fixed for its life. */
  port: number;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The process's output goes here (appended). */
  logFile: string;
  log: Logger;
  /** How long a start may take before it counts as failed. */
  startTimeoutMs?: number;
}

/** Resolves true once a TLS handshake succeeds on 127.0.0.1:port. */
export function tlsAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false, timeout: 1000 }, () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
    socket.on("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const RESTART_DELAY_MS = 2000;

export function createInjectorProcess(options: InjectorProcessOptions): InjectorEndpoint {
  const { name, path, port, log } = options;
  let child: ChildProcess | undefined;
  let transitions: Promise<void> = Promise.resolve();
  /** Whether it should be serving: an injector that exits on its own is started again, as kubelet would. */
  let wanted = false;

  const start = async () => {
    const fd = openSync(options.logFile, "a");
    const spawned = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    child = spawned;
    let exited = false;
    let started = false;
    spawned.once("exit", (code, signal) => {
      exited = true;
      if (child !== spawned) return;
      child = undefined;
      // Consul's injector exits when it loses its leader election (an apiserver outage, say).
      if (started && wanted) {
        log.info("injector process exited; starting it again, as kubelet would", {
          injector: name,
          code,
          signal,
        });
        restartSoon();
      }
    });
    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
    while (!(await tlsAnswers(port))) {
      if (exited) {
        throw new Error(
          `${name} exited while starting; last lines of ${options.logFile}:\n${logTail(options.logFile, 30)}`,
        );
      }
      if (Date.now() > deadline) {
        spawned.kill("SIGKILL");
        throw new Error(
          `${name} did not answer on 127.0.0.1:${port}; last lines of ${options.logFile}:\n${logTail(options.logFile, 30)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    started = true;
  };

  /** Starts it again after a pause, and again after each failed start, while it is wanted. */
  const restartSoon = () => {
    setTimeout(() => {
      if (!wanted || child) return;
      endpoint.setServing(true).catch(() => restartSoon());
    }, RESTART_DELAY_MS);
  };

  const stop = async () => {
    const running = child;
    if (!running) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGTERM");
    const timer = setTimeout(() => running.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };

  const endpoint: InjectorEndpoint = {
    name,
    path,
    port: () => port,
    isServing: () => child !== undefined,
    setServing(up: boolean): Promise<void> {
      wanted = up;
      transitions = transitions
        .catch(() => {})
        .then(async () => {
          if (up === (child !== undefined)) return;
          if (up) await start();
          else await stop();
          log.info(up ? "injector process serving" : "injector process stopped", {
            injector: name,
            port,
            pid: child?.pid,
          });
        });
      return transitions;
    },
  };
  return endpoint;
}
