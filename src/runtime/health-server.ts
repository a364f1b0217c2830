// The operator's HTTP endpoints for the kubelet and Prometheus:
//   /healthz  200 while the process loop is alive (liveness)
//   /readyz   200 only while the readiness predicate holds, e.g. caches synced (readiness)
//   /metrics  the registry in Prometheus text format
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { type Logger, silentLogger } from "./logger.ts";

/** true, or false / a reason string when not ready. */
export type Readiness = boolean | { ready: boolean; reason?: string };

export interface HealthServerOptions {
  /** Default 0.0.0.0. */
  host?: string;
  /** Default 8080; 0 picks a free port (read it back from start()). */
  port?: number;
  registry: Registry;
  /** Readiness predicate; default always ready. */
  readiness?: () => Readiness;
  /** Liveness predicate; default: the event loop answers, which is what liveness means here. */
  liveness?: () => boolean;
  logger?: Logger;
}

export interface HealthServer {
  /** Starts listening; resolves with the bound address. */
  start(): Promise<{ host: string; port: number }>;
  /** Stops accepting connections and waits for open requests, closing stragglers after `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

export function createHealthServer(options: HealthServerOptions): HealthServer {
  const log = options.logger ?? silentLogger();
  const readiness = options.readiness ?? (() => true);
  const liveness = options.liveness ?? (() => true);
  let server: Server | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      reply(res, 405, "method not allowed\n", { allow: "GET, HEAD" });
      return;
    }
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    switch (path) {
      case "/healthz":
      case "/livez":
        if (liveness()) reply(res, 200, "ok\n");
        else reply(res, 503, "not alive\n");
        return;
      case "/readyz": {
        const { ready, reason } = normalise(readiness());
        if (ready) reply(res, 200, "ok\n");
        else reply(res, 503, `not ready: ${reason ?? "unknown"}\n`);
        return;
      }
      case "/metrics":
        reply(res, 200, await options.registry.metrics(), { "content-type": options.registry.contentType });
        return;
      default:
        reply(res, 404, "not found\n");
    }
  };

  return {
    start() {
      if (server) throw new Error("health server already started");
      const http = createServer((req, res) => {
        handle(req, res).catch((error: unknown) => {
          log.error({ err: error, url: req.url }, "health endpoint failed");
          if (!res.headersSent) reply(res, 500, "internal error\n");
          else res.destroy();
        });
      });
      server = http;
      return new Promise((resolve, reject) => {
        http.once("error", reject);
        http.listen(options.port ?? 8080, options.host ?? "0.0.0.0", () => {
          http.off("error", reject);
          http.on("error", (error) => log.error({ err: error }, "health server error"));
          const address = http.address() as AddressInfo;
          log.info({ host: address.address, port: address.port }, "health server listening");
          resolve({ host: address.address, port: address.port });
        });
      });
    },
    close(timeoutMs = 5_000) {
      const http = server;
      if (!http) return Promise.resolve();
      server = undefined;
      return new Promise((resolve) => {
        // Idle keep-alive connections (a scraper between scrapes) close at once; busy ones after the deadline.
        const straggler = setTimeout(() => http.closeAllConnections(), timeoutMs);
        straggler.unref();
        http.close(() => {
          clearTimeout(straggler);
          resolve();
        });
        http.closeIdleConnections();
      });
    },
  };
}

function normalise(readiness: Readiness): { ready: boolean; reason?: string | undefined } {
  return typeof readiness === "boolean" ? { ready: readiness } : readiness;
}

function reply(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    ...headers,
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
