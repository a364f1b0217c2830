// One HTTPS admission endpoint on 127.0.0.1 that can be taken down (socket closed:
// the API server then gets "connection refused", like a scaled-down injector)
// and brought back on the same port.
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { AdmissionRequest, AdmissionResponse, AdmissionReview } from "./admission.ts";
import { reviewResponse } from "./admission.ts";
import { errorMessage, type Logger } from "./log.ts";
import type { ServingTls } from "./tls.ts";

export type AdmissionHandler = (request: AdmissionRequest) => Promise<AdmissionResponse>;

export interface AdmissionServerOptions {
  name: string;
  tls: ServingTls;
  /** URL path the webhook configuration points at, e.g. "/inject". */
  path: string;
  handler: AdmissionHandler;
  log: Logger;
}

/** Anything that serves a webhook on a loopback port and can be taken down and brought back. */
export interface InjectorEndpoint {
  readonly name: string;
  readonly path: string;
  /** The port, fixed by the first listen. */
  port(): number;
  isServing(): boolean;
  /** Serves (on the same port as before) or stops serving and drops open connections. */
  setServing(up: boolean): Promise<void>;
}

export interface AdmissionServer extends InjectorEndpoint {
  readonly name: string;
  readonly path: string;
  /** The port, fixed by the first listen. */
  port(): number;
  isServing(): boolean;
  /** Listens (on the same port as before) or closes the socket and drops open connections. */
  setServing(up: boolean): Promise<void>;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

export function createAdmissionServer(options: AdmissionServerOptions): AdmissionServer {
  const { name, path, handler, log } = options;
  const server: Server = createServer({ key: options.tls.keyPem, cert: options.tls.certPem }, (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    if (req.method !== "POST" || url.pathname !== path) {
      reply(404, { error: `no admission endpoint at ${req.method} ${url.pathname}` });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error("admission review too large"));
      else chunks.push(chunk);
    });
    req.on("error", (error) =>
      log.error("reading an admission review failed", { injector: name, error: errorMessage(error) }),
    );
    req.on("end", () => {
      let review: AdmissionReview;
      try {
        review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as AdmissionReview;
      } catch (error) {
        reply(400, { error: `malformed AdmissionReview: ${errorMessage(error)}` });
        return;
      }
      const request = review.request;
      if (!request?.uid) {
        reply(400, { error: "AdmissionReview without request.uid" });
        return;
      }
      handler(request).then(
        (response) => reply(200, reviewResponse(response)),
        (error: unknown) => {
          // A 500 makes the API server apply the webhook's failurePolicy, as a crashing injector would.
          log.error("admission handler failed", {
            injector: name,
            uid: request.uid,
            error: errorMessage(error),
          });
          reply(500, { error: errorMessage(error) });
        },
      );
    });
  });

  let port = 0;
  let serving = false;
  let transitions: Promise<void> = Promise.resolve();

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once("error", onError);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", onError);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });

  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive connections would otherwise still reach the handler.
      server.closeAllConnections();
    });

  return {
    name,
    path,
    port: () => {
      if (port === 0) throw new Error(`${name} has not listened yet`);
      return port;
    },
    isServing: () => serving,
    setServing(up: boolean): Promise<void> {
      transitions = transitions
        .catch(() => {})
        .then(async () => {
          if (up === serving) return;
          if (up) await listen();
          else await close();
          serving = up;
          log.info(up ? "injector listening" : "injector socket closed", { injector: name, port });
        });
      return transitions;
    },
  };
}
