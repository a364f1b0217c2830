// The only emulated part of Consul in the test cluster: a stand-in for the Consul server that
// answers exactly the two calls Consul's real connect injector makes of it (gRPC
// GetSupportedDataplaneFeatures and HTTP GET /v1/config/proxy-defaults/global; see
// consul-server-stub/main.go, built by scripts/meshes/build-consul.sh). It is Go because the
// injector's gRPC client sends an empty :authority, which Node's HTTP/2 server refuses.
// This module runs it on two free loopback ports and stops it.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { freePort, logTail } from "../cluster/processes.ts";
import type { Logger } from "./log.ts";

export interface ConsulServerStub {
  grpcPort: number;
  httpPort: number;
  stop(): Promise<void>;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

async function twoFreePorts(): Promise<[number, number]> {
  const first = await freePort();
  let second = await freePort();
  while (second === first) second = await freePort();
  return [first, second];
}

/** Starts consul-server-stub from binDir; resolves once both ports answer. */
export async function startConsulServerStub(
  binDir: string,
  logFile: string,
  log: Logger,
): Promise<ConsulServerStub> {
  const [grpcPort, httpPort] = await twoFreePorts();
  const fd = openSync(logFile, "a");
  const child: ChildProcess = spawn(
    join(binDir, "consul-server-stub"),
    [`-grpc-listen=127.0.0.1:${grpcPort}`, `-http-listen=127.0.0.1:${httpPort}`],
    { stdio: ["ignore", fd, fd] },
  );
  closeSync(fd);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  const deadline = Date.now() + 10_000;
  while (!((await answers(grpcPort)) && (await answers(httpPort)))) {
    if (exited || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`consul-server-stub did not start; last lines of ${logFile}:\n${logTail(logFile, 20)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  log.info("consul server stub listening", { grpcPort, httpPort, pid: child.pid });
  return {
    grpcPort,
    httpPort,
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      await gone;
    },
  };
}
