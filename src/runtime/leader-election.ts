// Lease-based leader election (coordination.k8s.io/v1), following client-go's leaderelection:
// - acquire: create the Lease if missing; take it over when it is released or expired;
// - renew every retryPeriod while leading; if no renewal succeeds within renewDeadline, step
//   down (abort the leader's signal) before anyone else may take over (renewDeadline < leaseDuration);
// - every write is conditional: a merge patch carrying the resourceVersion that was read (the
//   apiserver answers 409 if someone wrote in between) or a create (409 if it exists already);
// - a graceful stop releases the Lease (holderIdentity cleared) so a successor takes over at once.
//
// Expiry is judged like client-go, against this process's own clock: a Lease is expired when its
// (holder, renewTime) has not changed for leaseDurationSeconds since this process first saw it.
// That never trusts the other holder's clock, so clock skew between nodes cannot make two leaders.
import { hostname } from "node:os";
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { makeApiClient } from "./api-clients.ts";
import { describeApiError, statusCode } from "./api-error.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { mergePatchOptions } from "./patch.ts";

/** The Lease operations the elector needs; coordinationLeaseClient() is the real one. */
export interface LeaseClient {
  /** The Lease, or undefined if there is none. */
  get(namespace: string, name: string): Promise<V1Lease | undefined>;
  /** Creates the Lease; rejects with a 409 error if it exists. */
  create(namespace: string, lease: V1Lease): Promise<V1Lease>;
  /** JSON merge patch; rejects with a 409 error if metadata.resourceVersion in the patch is stale. */
  patch(namespace: string, name: string, patch: LeasePatch): Promise<V1Lease>;
}

export interface LeasePatch {
  metadata: { resourceVersion: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Hook for leader_election_master_status. */
export interface LeaderStatusObserver {
  onLeaderStatus(name: string, leading: boolean): void;
}

export interface LeaderElectorOptions {
  namespace: string;
  /** Lease name. */
  name: string;
  /** Unique per process; default hostname plus a random suffix (see defaultIdentity). */
  identity?: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  /** Called on becoming leader; `signal` aborts on losing or giving up leadership. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /**
   * Called on losing or giving up leadership, after the signal aborted. On a graceful stop the
   * Lease is released only after a returned promise settles: stop the controller here so
   * in-flight work finishes before a successor starts.
   */
  onStoppedLeading?(): void | Promise<void>;
  /** Called when the observed holder changes (this process included). */
  onNewLeader?(identity: string): void;
  /** Clear holderIdentity on stop() so a successor need not wait for expiry. Default true. */
  releaseOnStop?: boolean;
  /** Either a LeaseClient or a KubeConfig to build the real one from. */
  client?: LeaseClient;
  kubeConfig?: KubeConfig;
  metrics?: LeaderStatusObserver;
  logger?: Logger;
  clock?: Clock;
  random?: () => number;
}

/** client-go's jitter for acquire retries: waits are retryPeriod · [1, 2.2). */
const ACQUIRE_JITTER = 1.2;

export class LeaderElector {
  readonly identity: string;
  readonly #namespace: string;
  readonly #name: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #options: LeaderElectorOptions;
  readonly #client: LeaseClient;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  #leading = false;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #leaderAbort: AbortController | undefined;
  #wake: (() => void) | undefined;
  /** The Lease as last read or written, for its resourceVersion. */
  #lastLease: V1Lease | undefined;
  /** (holder, renewTime) last seen, and when (local clock) it was first seen. */
  #observedRecord = "";
  #observedAt = 0;
  #knownLeader = "";

  constructor(options: LeaderElectorOptions) {
    const leaseDurationSeconds = options.leaseDurationSeconds ?? 15;
    const renewDeadlineSeconds = options.renewDeadlineSeconds ?? 10;
    const retryPeriodSeconds = options.retryPeriodSeconds ?? 2;
    if (!(leaseDurationSeconds > renewDeadlineSeconds)) {
      throw new Error("leaseDurationSeconds must be greater than renewDeadlineSeconds");
    }
    if (!(renewDeadlineSeconds > ACQUIRE_JITTER * retryPeriodSeconds) || !(retryPeriodSeconds > 0)) {
      throw new Error(`renewDeadlineSeconds must be greater than ${ACQUIRE_JITTER} × retryPeriodSeconds`);
    }
    const client = options.client ?? (options.kubeConfig && coordinationLeaseClient(options.kubeConfig));
    if (!client) throw new Error("LeaderElector needs a client or a kubeConfig");
    this.identity = options.identity ?? defaultIdentity();
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.#leaseDurationMs = leaseDurationSeconds * 1000;
    this.#renewDeadlineMs = renewDeadlineSeconds * 1000;
    this.#retryPeriodMs = retryPeriodSeconds * 1000;
    this.#options = options;
    this.#client = client;
    this.#log = (options.logger ?? silentLogger()).child({
      lease: `${options.namespace}/${options.name}`,
      identity: this.identity,
    });
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    options.metrics?.onLeaderStatus(this.#name, false);
  }

  /**
   * Competes for the Lease until stop(): acquire, lead and renew, and after a lost Lease compete
   * again. Resolves once stopped.
   */
  run(): Promise<void> {
    if (this.#loop) throw new Error("leader elector already running");
    this.#loop = this.#main();
    return this.#loop;
  }

  /** Stops competing; if leading, steps down and (by default) releases the Lease. */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    const release = options.release ?? this.#options.releaseOnStop ?? true;
    if (this.#stopped) return this.#loop;
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    // Decided by the Lease last written, not by #leading: an acquire in flight during stop()
    // may have made the Lease ours without this process ever leading.
    if (release) await this.#release();
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder last observed, "" if none. */
  leader(): string {
    return this.#knownLeader;
  }

  async #main(): Promise<void> {
    while (!this.#stopped) {
      if (!(await this.#acquire()) || this.#stopped) break;
      this.#startLeading();
      const reason = await this.#renewUntilLost();
      await this.#stopLeading(reason);
    }
  }

  async #acquire(): Promise<boolean> {
    this.#log.info("trying to acquire the lease");
    while (!this.#stopped) {
      if (await this.#attempt()) return true;
      await this.#sleep(this.#retryPeriodMs * (1 + ACQUIRE_JITTER * this.#random()));
    }
    return false;
  }

  async #renewUntilLost(): Promise<string> {
    let lastRenew = this.#clock.now();
    for (;;) {
      await this.#sleep(this.#retryPeriodMs);
      if (this.#stopped) return "stopping";
      if (await this.#attempt(this.#renewDeadlineMs - (this.#clock.now() - lastRenew))) {
        lastRenew = this.#clock.now();
        continue;
      }
      if (this.#knownLeader !== "" && this.#knownLeader !== this.identity) {
        return `the lease is now held by ${this.#knownLeader}`;
      }
      if (this.#clock.now() - lastRenew >= this.#renewDeadlineMs) {
        return `no renewal succeeded within ${this.#renewDeadlineMs / 1000}s`;
      }
    }
  }

  /** One acquire-or-renew try; false on conflict, on error and when someone else holds a valid Lease. */
  async #attempt(timeoutMs: number = this.#renewDeadlineMs): Promise<boolean> {
    if (timeoutMs <= 0) return false;
    try {
      return await this.#withTimeout(this.#tryAcquireOrRenew(), timeoutMs, "lease request timed out");
    } catch (error) {
      if (error instanceof LeaseUnavailableError) throw error;
      this.#log.warn(describeApiError("acquire or renew", `Lease ${this.#namespace}/${this.#name}`, error));
      return false;
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = this.#clock.now();
    const lease = await this.#client.get(this.#namespace, this.#name);
    if (!lease) {
      try {
        const created = await this.#client.create(this.#namespace, {
          metadata: { name: this.#name, namespace: this.#namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: this.#leaseDurationMs / 1000,
            acquireTime: new V1MicroTime(now),
            renewTime: new V1MicroTime(now),
            leaseTransitions: 0,
          },
        });
        this.#observe(created);
        return true;
      } catch (error) {
        if (statusCode(error) === 409) return false;
        if (statusCode(error) === 404) {
          throw new LeaseUnavailableError(
            `cannot create the leader-election Lease: namespace ${this.#namespace} does not exist; create it ` +
              "(kubectl create namespace " +
              `${this.#namespace}) or point --leader-election-namespace at an existing one`,
          );
        }
        throw error;
      }
    }
    this.#observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    if (holder !== "" && holder !== this.identity && !this.#expired(lease)) return false;
    const resourceVersion = lease.metadata?.resourceVersion;
    if (!resourceVersion) throw new Error("the lease has no resourceVersion");
    const takingOver = holder !== this.identity;
    if (takingOver && holder !== "")
      this.#log.info({ previous: holder }, "the lease expired; taking it over");
    try {
      const written = await this.#client.patch(this.#namespace, this.#name, {
        metadata: { resourceVersion },
        spec: {
          holderIdentity: this.identity,
          leaseDurationSeconds: this.#leaseDurationMs / 1000,
          renewTime: formatMicroTime(now),
          ...(takingOver
            ? { acquireTime: formatMicroTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
            : {}),
        },
      });
      this.#observe(written);
      return true;
    } catch (error) {
      if (statusCode(error) === 409) return false;
      throw error;
    }
  }

  #observe(lease: V1Lease): void {
    this.#lastLease = lease;
    const holder = lease.spec?.holderIdentity ?? "";
    const record = `${holder}|${String(lease.spec?.renewTime ?? "")}`;
    if (record !== this.#observedRecord) {
      this.#observedRecord = record;
      this.#observedAt = this.#clock.now();
    }
    if (holder !== this.#knownLeader) {
      this.#knownLeader = holder;
      if (holder !== "") {
        this.#log.info({ leader: holder }, "new leader observed");
        this.#callback("onNewLeader", () => this.#options.onNewLeader?.(holder));
      }
    }
  }

  #expired(lease: V1Lease): boolean {
    const durationMs = (lease.spec?.leaseDurationSeconds ?? this.#leaseDurationMs / 1000) * 1000;
    return this.#observedAt + durationMs <= this.#clock.now();
  }

  #startLeading(): void {
    this.#leading = true;
    this.#leaderAbort = new AbortController();
    this.#options.metrics?.onLeaderStatus(this.#name, true);
    this.#log.info("became leader");
    const signal = this.#leaderAbort.signal;
    this.#callback("onStartedLeading", () => this.#options.onStartedLeading(signal));
  }

  async #stopLeading(reason: string): Promise<void> {
    if (!this.#leading) return;
    this.#leading = false;
    this.#leaderAbort?.abort(new Error(`leadership ended: ${reason}`));
    this.#options.metrics?.onLeaderStatus(this.#name, false);
    if (reason === "stopping") this.#log.info("stepping down");
    else this.#log.error({ reason }, "lost leadership");
    await this.#callback("onStoppedLeading", () => this.#options.onStoppedLeading?.());
  }

  /** Clears holderIdentity, conditional on nobody having written since our last write. */
  async #release(): Promise<void> {
    const resourceVersion = this.#lastLease?.metadata?.resourceVersion;
    if (!resourceVersion || this.#lastLease?.spec?.holderIdentity !== this.identity) return;
    const now = formatMicroTime(this.#clock.now());
    try {
      const released = await this.#withTimeout(
        this.#client.patch(this.#namespace, this.#name, {
          metadata: { resourceVersion },
          // leaseDurationSeconds 1: electors that judge by duration alone also move on quickly.
          spec: { holderIdentity: null, leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
        }),
        this.#renewDeadlineMs,
        "lease release timed out",
      );
      this.#lastLease = released;
      this.#log.info("released the lease");
    } catch (error) {
      // 409: someone else wrote the Lease already, so it is not ours to release.
      if (statusCode(error) !== 409) {
        this.#log.warn(describeApiError("release", `Lease ${this.#namespace}/${this.#name}`, error));
      }
    }
  }

  /** Runs a user callback; its errors are logged, never allowed to break the election loop. */
  async #callback(name: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.#log.error({ err: error, callback: name }, "leader election callback failed");
    }
  }

  async #withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.#clock.setTimeout(() => reject(new Error(message)), ms);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        this.#clock.clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

/** The real LeaseClient: CoordinationV1Api with conditional JSON merge patches. */
export function coordinationLeaseClient(kubeConfig: KubeConfig): LeaseClient {
  const api = makeApiClient(kubeConfig, CoordinationV1Api);
  return {
    async get(namespace, name) {
      try {
        return await api.readNamespacedLease({ namespace, name });
      } catch (error) {
        if (statusCode(error) === 404) return undefined;
        throw error;
      }
    },
    create: (namespace, body) => api.createNamespacedLease({ namespace, body }),
    patch: (namespace, name, body) =>
      api.patchNamespacedLease({ namespace, name, body }, mergePatchOptions()),
  };
}

/** hostname_random, like client-go's recommended identity: unique even for two processes on one host. */
export function defaultIdentity(): string {
  return `${hostname()}_${crypto.randomUUID().slice(0, 8)}`;
}

/** RFC 3339 with exactly six fractional digits, the form metav1.MicroTime accepts. */
export function formatMicroTime(ms: number): string {
  return new V1MicroTime(ms).toISOString();
}

/** A Lease that can never be had as configured (its namespace is missing): retrying cannot help. */
export class LeaseUnavailableError extends Error {}
