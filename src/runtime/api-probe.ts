// Whether the API server answers, for /readyz: informers that synced once keep serving their
// (aging) caches through an outage, and a watch on a stalled etcd simply goes quiet, so cache
// sync alone would report ready while nothing can be read or written. The probe asks the API
// server's own /readyz (open to any client by default) every few seconds.
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  RequestContext,
  type ResponseContext,
} from "@kubernetes/client-node";
import { type Clock, systemClock } from "./clock.ts";

export interface ApiProbeOptions {
  intervalMs?: number;
  /** How long without an answer before the operator says it is not ready. */
  staleAfterMs?: number;
  timeoutMs?: number;
  clock?: Clock;
  /** One probe: resolves when the API server answered ready, rejects (with why) otherwise. */
  probe?: () => Promise<void>;
}

export class ApiProbe {
  readonly #interval: number;
  readonly #staleAfter: number;
  readonly #clock: Clock;
  readonly #probe: () => Promise<void>;
  #lastOk: number;
  #lastProblem = "";
  #timer: unknown;
  #stopped = true;

  constructor(kubeConfig: KubeConfig, options: ApiProbeOptions = {}) {
    this.#interval = options.intervalMs ?? 5_000;
    this.#staleAfter = options.staleAfterMs ?? 15_000;
    this.#clock = options.clock ?? systemClock;
    this.#probe = options.probe ?? (() => readyz(kubeConfig, options.timeoutMs ?? 3_000));
    this.#lastOk = this.#clock.now();
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
  }

  /** Undefined while the API server answers; otherwise why not, for /readyz. */
  problem(): string | undefined {
    const silentMs = this.#clock.now() - this.#lastOk;
    if (silentMs <= this.#staleAfter) return undefined;
    return `the API server has not answered for ${Math.round(silentMs / 1000)}s (${this.#lastProblem || "no answer"})`;
  }

  async #tick(): Promise<void> {
    try {
      await this.#probe();
      this.#lastOk = this.#clock.now();
    } catch (error) {
      this.#lastProblem = error instanceof Error ? error.message : String(error);
    }
    if (!this.#stopped) this.#timer = this.#clock.setTimeout(() => void this.#tick(), this.#interval);
  }
}

async function readyz(kubeConfig: KubeConfig, timeoutMs: number): Promise<void> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const request = new RequestContext(`${cluster.server}/readyz`, HttpMethod.GET);
  request.setSignal(AbortSignal.timeout(timeoutMs));
  await kubeConfig.applySecurityAuthentication(request);
  let response: ResponseContext;
  try {
    response = await new IsomorphicFetchHttpLibrary().send(request).toPromise();
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
    throw new Error(`GET /readyz: ${error instanceof Error ? error.message : String(error)}${cause}`);
  }
  if (response.httpStatusCode !== 200) throw new Error(`GET /readyz: HTTP ${response.httpStatusCode}`);
}
