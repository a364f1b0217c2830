// An informer for one resource that never gives up: client-node's ListWatch keeps the cache and
// handles watch expiry (410 → re-list) and timeouts itself, but after any other error (list
// failed, watch refused or broken) it emits "error" and stops for good. ResilientInformer
// restarts it with jittered exponential backoff, resuming from the last resourceVersion so the
// cache is kept and only real changes are reported.
//
// Objects are the JSON the apiserver sent (timestamps are strings, not Date, whatever the
// client-node model types say), shared by every reader: treat them as read-only (see read-only.ts).
// A transform (as client-go's SetTransform) may cut each object down to what its readers need
// before it enters the cache: every listed item, page by page, and every watched object.
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  RequestContext,
  Watch,
} from "@kubernetes/client-node";
import { describeApiError, statusCode } from "./api-error.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { readOnly, readOnlyAssertionsEnabled } from "./read-only.ts";

/** The part of client-node's Watch the informer uses (a seam for tests). */
export type WatchLike = Pick<Watch, "watch">;
export type ListFunction<T extends KubernetesObject> = () => Promise<KubernetesListObject<T>>;

/**
 * Applied to every object before it enters the cache (and before handlers see it), as client-go's
 * SetTransform: it returns the object as the cache should keep it, typically a smaller one with
 * only what the readers use. It must keep metadata.name, metadata.namespace and
 * metadata.resourceVersion, and give the same answer when applied to its own output.
 */
export type CacheTransform<T> = (obj: T) => T;

export interface RestartBackoff {
  /** First restart delay. Default 1 s. */
  initialMs?: number;
  /** Longest restart delay. Default 30 s. */
  maxMs?: number;
  /** A run that lasted this long counts as healthy and resets the backoff. Default 60 s. */
  healthyAfterMs?: number;
  /** Each delay is stretched by up to this fraction at random, so replicas do not retry in step. Default 0.2. */
  jitter?: number;
}

export interface InformerOptions<T extends KubernetesObject> {
  /** API path of the collection, e.g. /api/v1/pods or /apis/apps/v1/deployments. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** For logs; default the path. */
  name?: string;
  logger?: Logger;
  backoff?: RestartBackoff;
  /** Deep-freeze cached objects (dev/test assertion). Default: readOnlyAssertionsEnabled(). */
  assertReadOnly?: boolean;
  /** Page size of the initial list. Default 500. */
  pageSize?: number;
  /** Cuts each object down before it is cached (see CacheTransform). Default: cache it whole. */
  transform?: CacheTransform<T>;
  /** Replaces the HTTP list (tests). */
  list?: ListFunction<T>;
  /** Replaces client-node's Watch (tests). */
  watch?: WatchLike;
  /**
   * Whether the API serves the collection now; asked before listing again a collection it did
   * not serve, so a CRD that is not installed costs a discovery GET, never a LIST. Default: API
   * discovery (servedByDiscovery).
   */
  served?: () => Promise<boolean>;
  clock?: Clock;
  random?: () => number;
}

export type ChangeHandler<T> = (obj: T) => void;

export class ResilientInformer<T extends KubernetesObject> {
  readonly name: string;
  readonly #listWatch: ListWatch<T>;
  readonly #handlers = new Set<ChangeHandler<T>>();
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #backoff: Required<RestartBackoff>;
  readonly #assertReadOnly: boolean;
  #stopped = true;
  #synced = false;
  #listedThisRun = false;
  #runStartedAt = 0;
  #failures = 0;
  #restartTimer: unknown;
  #restartPending = false;
  #currentWatch: AbortController | undefined;
  /** The API answers 404 for the collection: its CRD is not installed (yet). */
  #notServed = false;
  /** Why the last list was refused (401/403), until a list succeeds. */
  #refusal: string | undefined;
  readonly #path: string;
  readonly #served: () => Promise<boolean>;

  constructor(kubeConfig: KubeConfig, options: InformerOptions<T>) {
    this.name = options.name ?? options.path;
    this.#path = options.path;
    this.#log = (options.logger ?? silentLogger()).child({ informer: this.name });
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#backoff = {
      initialMs: options.backoff?.initialMs ?? 1_000,
      maxMs: options.backoff?.maxMs ?? 30_000,
      healthyAfterMs: options.backoff?.healthyAfterMs ?? 60_000,
      jitter: options.backoff?.jitter ?? 0.2,
    };
    this.#assertReadOnly = options.assertReadOnly ?? readOnlyAssertionsEnabled();
    this.#served = options.served ?? (() => servedByDiscovery(kubeConfig, options.path));

    const transform = options.transform;
    const given = options.list;
    const list: ListFunction<T> = given
      ? async () => {
          const result = await given();
          return transform ? { ...result, items: result.items.map(transform) } : result;
        }
      : () =>
          listCollection<T>(kubeConfig, options.path, {
            labelSelector: options.labelSelector,
            fieldSelector: options.fieldSelector,
            pageSize: options.pageSize ?? 500,
            transform,
          });
    const watch = withTransform(options.watch ?? new Watch(kubeConfig), transform);
    this.#listWatch = new ListWatch<T>(
      options.path,
      this.#trackWatches(watch) as Watch,
      () => this.#listOnce(list),
      false,
      options.labelSelector,
      options.fieldSelector,
    );
    this.#listWatch.on("change", (obj) => this.#dispatch(obj));
    this.#listWatch.on("error", (error) => this.#onError(error));
    this.#listWatch.on("connect", () => this.#log.debug("connecting"));
  }

  /** Starts listing and watching. Resolves after the first attempt (synced or not: see hasSynced). */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#log.info("starting");
    await this.#run();
  }

  /** Stops for good (until start() again); the cache keeps its last content. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clock.clearTimeout(this.#restartTimer);
    this.#restartPending = false;
    await this.#listWatch.stop();
    this.#currentWatch?.abort();
    this.#currentWatch = undefined;
    this.#log.info("stopped");
  }

  /** True once a list has succeeded: the cache then reflects the cluster (possibly a bit late). */
  hasSynced(): boolean {
    return this.#synced;
  }

  /**
   * Why the apiserver refuses to list this collection (401 or 403, as one line), while it does:
   * the cache is not "no objects" then, and a caller must say so rather than plan from it.
   */
  refusal(): string | undefined {
    return this.#refusal;
  }

  /**
   * Cached objects, all or of one namespace. The cache is kept per namespace, so a namespace's
   * list reads only its own objects. Read-only: copy with mutableCopy() to change.
   */
  list(namespace?: string): readonly T[] {
    return this.#listWatch.list(namespace);
  }

  /** A cached object; cluster-scoped objects need no namespace. Read-only. */
  get(name: string, namespace?: string): T | undefined {
    return this.#listWatch.get(name, namespace);
  }

  /**
   * Calls `handler` for every add, update and delete (after the cache has been updated), with the
   * object concerned. Handlers should only enqueue keys. Returns a function that unsubscribes.
   */
  onChange(handler: ChangeHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  latestResourceVersion(): string {
    return this.#listWatch.latestResourceVersion();
  }

  async #run(): Promise<void> {
    this.#runStartedAt = this.#clock.now();
    this.#listedThisRun = false;
    try {
      await this.#listWatch.start();
    } catch (error) {
      this.#onError(error);
    }
    // ListWatch fills the cache right after a successful list, before it starts the watch that
    // start() waits for; so a list that succeeded in this run means the cache is filled.
    if (this.#listedThisRun && !this.#stopped && (!this.#synced || this.#notServed)) {
      if (this.#notServed) this.#log.info({ objects: this.list().length }, "now served by the API; synced");
      else this.#log.info({ objects: this.list().length }, "synced");
      this.#synced = true;
      this.#notServed = false;
    }
    if (this.#listedThisRun) this.#refusal = undefined;
  }

  async #listOnce(list: ListFunction<T>): Promise<KubernetesListObject<T>> {
    const result = await list();
    // ListWatch does not check for stop() while a list is in flight; failing here stops it
    // from opening a watch nobody will close.
    if (this.#stopped) throw new Error("informer stopped during list");
    for (const item of result.items) readOnly(item, this.#assertReadOnly);
    this.#listedThisRun = true;
    return result;
  }

  /** Remembers the open watch so stop() can close it even if ListWatch lost track of it. */
  #trackWatches(watch: WatchLike): WatchLike {
    return {
      watch: async (path, queryParams, callback, done) => {
        // Bookmarks keep the resourceVersion fresh on quiet resources, sparing a re-list on reconnect.
        const params = { ...queryParams, allowWatchBookmarks: true };
        let request: AbortController;
        try {
          request = await watch.watch(path, params, callback, done);
        } catch (error) {
          // Watch.watch rejects when authentication fails before the request (an exec plugin, an
          // unreadable token file). On ListWatch's own reconnect path nobody awaits it, so that
          // would be an unhandled rejection: report it as the end of the watch instead.
          done(error);
          return new AbortController();
        }
        if (this.#stopped) request.abort();
        else this.#currentWatch = request;
        return request;
      },
    };
  }

  #dispatch(obj: T): void {
    if (this.#stopped) return;
    readOnly(obj, this.#assertReadOnly);
    for (const handler of this.#handlers) {
      try {
        handler(obj);
      } catch (error) {
        this.#log.error(
          { err: error, object: objectRef(obj) },
          "change handler threw; the informer goes on with the next handler",
        );
      }
    }
  }

  /**
   * A collection the API does not serve (a CRD that is not installed) is an expected condition:
   * the cache is synced and empty, said once at info, and the list is tried again with backoff so
   * a CRD installed later is noticed.
   */
  #onNotServed(delayMs: number): void {
    if (!this.#notServed) {
      this.#log.info(
        { path: this.#path },
        "not served by the API (CRD not installed): treated as empty until it is",
      );
    }
    this.#notServed = true;
    this.#synced = true;
    this.#log.debug({ delayMs }, "still not served");
  }

  /** The next restart delay: exponential, capped, jittered; reset by a run that stayed healthy. */
  #nextDelay(): number {
    if (this.#clock.now() - this.#runStartedAt >= this.#backoff.healthyAfterMs) this.#failures = 0;
    const base = Math.min(this.#backoff.initialMs * 2 ** this.#failures, this.#backoff.maxMs);
    this.#failures++;
    return Math.round(base * (1 + this.#backoff.jitter * this.#random()));
  }

  #scheduleRestart(delayMs: number): void {
    this.#restartPending = true;
    this.#restartTimer = this.#clock.setTimeout(() => {
      this.#restartPending = false;
      if (!this.#stopped) void this.#restart();
    }, delayMs);
  }

  /** A collection the API did not serve is listed again only once discovery says it is served. */
  async #restart(): Promise<void> {
    if (this.#notServed) this.#runStartedAt = this.#clock.now(); // a probe is an attempt: backoff keeps growing
    if (this.#notServed && !(await this.#served().catch(() => true))) {
      this.#log.debug("still not served (discovery)");
      if (!this.#stopped) this.#scheduleRestart(this.#nextDelay());
      return;
    }
    await this.#run();
  }

  #onError(error: unknown): void {
    // Aborting the watch in stop() surfaces as an error too.
    if (this.#stopped || this.#restartPending) return;
    const delayMs = this.#nextDelay();
    const code = statusCode(error);
    if (code === 404 && !this.#listedThisRun) {
      this.#onNotServed(delayMs);
    } else if ((code === 401 || code === 403) && !this.#listedThisRun) {
      const line = describeApiError("list", this.#path, error);
      if (this.#refusal === undefined) this.#log.warn({ delayMs }, `${line}; retrying after backoff`);
      this.#refusal = line;
    } else {
      // One line a person can read: verb, object, code, reason, message; no stack.
      this.#log.warn(
        { delayMs, failures: this.#failures, synced: this.#synced },
        `${describeApiError("list/watch", this.#path, error)}; retrying after backoff`,
      );
    }
    this.#scheduleRestart(delayMs);
  }
}

/**
 * Whether API discovery lists the collection at `path` (/apis/GROUP/VERSION/RESOURCE): one GET of
 * the group version, which every authenticated user may read. Core (/api/v1) is always served.
 */
export async function servedByDiscovery(kubeConfig: KubeConfig, path: string): Promise<boolean> {
  const match = /^\/apis\/([^/]+)\/([^/]+)\/(?:namespaces\/[^/]+\/)?([^/?]+)/.exec(path);
  const cluster = kubeConfig.getCurrentCluster();
  if (!match || !cluster) return true;
  const [, group, version, resource] = match;
  const request = new RequestContext(`${cluster.server}/apis/${group}/${version}`, HttpMethod.GET);
  request.setHeaderParam("Accept", "application/json");
  request.setSignal(AbortSignal.timeout(30_000));
  await kubeConfig.applySecurityAuthentication(request);
  const response = await new IsomorphicFetchHttpLibrary().send(request).toPromise();
  const text = await response.body.text();
  if (response.httpStatusCode === 404) return false;
  if (response.httpStatusCode !== 200) return true; // not discovery's to decide: let the list say
  const resources = (JSON.parse(text) as { resources?: Array<{ name?: string }> }).resources ?? [];
  return resources.some((r) => r.name === resource);
}

/** The watch with every added, modified and deleted object transformed before ListWatch sees it. */
function withTransform<T>(watch: WatchLike, transform: CacheTransform<T> | undefined): WatchLike {
  if (!transform) return watch;
  return {
    watch: (path, queryParams, callback, done) =>
      watch.watch(
        path,
        queryParams,
        (phase, apiObj, watchObj) => {
          // BOOKMARK and ERROR objects are not cached: their resourceVersion and code pass as sent.
          const cached = phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED";
          callback(phase, cached ? transform(apiObj as T) : apiObj, watchObj);
        },
        done,
      ),
  };
}

function objectRef(obj: KubernetesObject): string {
  const { namespace, name } = obj.metadata ?? {};
  return namespace ? `${namespace}/${name}` : String(name);
}

/** An apiserver answer other than 200, with the Status message if there was one. */
export class KubeRequestError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = "KubeRequestError";
    this.statusCode = statusCode;
  }
}

export interface ListCollectionOptions<T = KubernetesObject> {
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  pageSize?: number;
  timeoutMs?: number;
  /** Applied to each item as its page arrives, so a long list never holds every object whole. */
  transform?: CacheTransform<T> | undefined;
}

/**
 * Lists any collection by API path, page by page, as raw JSON (the same shape the watch
 * delivers). The resourceVersion returned is the list's, ready to start a watch from.
 */
export async function listCollection<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  path: string,
  options: ListCollectionOptions<T> = {},
): Promise<KubernetesListObject<T>> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const http = new IsomorphicFetchHttpLibrary();
  const items: T[] = [];
  let continueToken: string | undefined;
  let last: RawListPage<T> | undefined;
  do {
    const url = new URL(cluster.server + path);
    url.searchParams.set("limit", String(options.pageSize ?? 500));
    if (continueToken) url.searchParams.set("continue", continueToken);
    if (options.labelSelector) url.searchParams.set("labelSelector", options.labelSelector);
    if (options.fieldSelector) url.searchParams.set("fieldSelector", options.fieldSelector);
    const request = new RequestContext(url.toString(), HttpMethod.GET);
    request.setHeaderParam("Accept", "application/json");
    request.setSignal(AbortSignal.timeout(options.timeoutMs ?? 60_000));
    await kubeConfig.applySecurityAuthentication(request);
    const response = await http.send(request).toPromise();
    const text = await response.body.text();
    if (response.httpStatusCode !== 200) {
      throw new KubeRequestError(
        response.httpStatusCode,
        `list ${path}: HTTP ${response.httpStatusCode}: ${statusMessage(text)}`,
      );
    }
    // Raw JSON: the token is "continue" (the client-node model renames it _continue).
    const page = JSON.parse(text) as RawListPage<T>;
    last = page;
    const transform = options.transform;
    for (const item of page.items ?? []) items.push(transform ? transform(item) : item);
    continueToken = page.metadata?.continue || undefined;
  } while (continueToken);
  return {
    apiVersion: last?.apiVersion,
    kind: last?.kind,
    metadata: { resourceVersion: last?.metadata?.resourceVersion },
    items,
  } as KubernetesListObject<T>;
}

interface RawListPage<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: string; reason?: string };
    return status.message ?? status.reason ?? body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}

/** A typed description of one informer, for createInformers. */
export interface InformerSpec<T extends KubernetesObject> {
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** A method, so a spec of a narrower type still fits InformerSpec<KubernetesObject>. */
  transform?(obj: T): T;
  /** Type marker only; never set. */
  readonly __object?: T;
}

/**
 * Describes a resource to watch, and optionally how to cut its objects down for the cache; the
 * type parameter types the informer createInformers returns.
 */
export function informerSpec<T extends KubernetesObject>(
  path: string,
  options: { labelSelector?: string; fieldSelector?: string; transform?: CacheTransform<T> } = {},
): InformerSpec<T> {
  return { path, ...options };
}

export type Informers<S> = {
  [K in keyof S]: S[K] extends InformerSpec<infer T> ? ResilientInformer<T> : never;
};

/**
 * One informer per spec, sharing logger, backoff and (unless the spec has its own) transform. For
 * example
 *   createInformers(kc, { pods: informerSpec<V1Pod>("/api/v1/pods", { transform: podShape }) }).pods
 */
export function createInformers<S extends Record<string, InformerSpec<KubernetesObject>>>(
  kubeConfig: KubeConfig,
  specs: S,
  common: Omit<
    InformerOptions<KubernetesObject>,
    "path" | "labelSelector" | "fieldSelector" | "name" | "list" | "watch"
  > = {},
): Informers<S> {
  const informers: Record<string, ResilientInformer<KubernetesObject>> = {};
  for (const [name, spec] of Object.entries(specs)) {
    informers[name] = new ResilientInformer(kubeConfig, {
      ...common,
      ...spec,
      transform: spec.transform ?? common.transform,
      name,
    });
  }
  return informers as Informers<S>;
}

/** What group helpers need of an informer. */
export interface InformerLifecycle {
  refusal?(): string | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  hasSynced(): boolean;
}

export async function startInformers(informers: Record<string, InformerLifecycle>): Promise<void> {
  await Promise.all(Object.values(informers).map((informer) => informer.start()));
}

export async function stopInformers(informers: Record<string, InformerLifecycle>): Promise<void> {
  await Promise.all(Object.values(informers).map((informer) => informer.stop()));
}

/** Names of the informers whose cache is not filled yet (empty when all are synced). */
export function unsyncedInformers(informers: Record<string, InformerLifecycle>): string[] {
  return Object.entries(informers)
    .filter(([, informer]) => !informer.hasSynced())
    .map(([name]) => name);
}
