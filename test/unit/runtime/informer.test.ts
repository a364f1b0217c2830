// ResilientInformer over client-node's real ListWatch, with the list and the watch stream faked.
import { KubeConfig, type KubernetesListObject, type V1Pod } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type CacheTransform, ResilientInformer, type WatchLike } from "../../../src/runtime/informer.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const settle = () => vi.advanceTimersByTimeAsync(0);

function pod(name: string, resourceVersion: string, labels: Record<string, string> = {}): V1Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "shop", resourceVersion, labels } };
}

interface Session {
  params: Record<string, string | number | boolean | undefined>;
  send(type: string, object: unknown): void;
  close(error?: unknown): void;
  closed: boolean;
}

/** The cluster as the fake list and watch see it. */
class FakeApi {
  pods = new Map<string, V1Pod>();
  resourceVersion = 10;
  listCalls: number[] = [];
  listFailures = 0;
  /** 404 for every list while true: the resource's CRD is not installed. */
  notServed = false;
  /** 403 for every list while true: RBAC does not let us list it. */
  forbidden = false;
  sessions: Session[] = [];

  list = async (): Promise<KubernetesListObject<V1Pod>> => {
    this.listCalls.push(Date.now());
    if (this.notServed)
      throw Object.assign(new Error("list: HTTP 404: 404 page not found"), { statusCode: 404 });
    if (this.forbidden) throw Object.assign(new Error("list: HTTP 403: forbidden"), { statusCode: 403 });
    if (this.listFailures > 0) {
      this.listFailures--;
      throw Object.assign(new Error("list failed"), { statusCode: 500 });
    }
    return {
      metadata: { resourceVersion: String(this.resourceVersion) },
      items: [...this.pods.values()].map((p) => structuredClone(p)),
    };
  };

  watch: WatchLike = {
    watch: async (_path, params, callback, done) => {
      const controller = new AbortController();
      const session: Session = {
        params,
        closed: false,
        send: (type, object) => callback(type, object, { type, object }),
        close: (error) => {
          if (session.closed) return;
          session.closed = true;
          done(error ?? null);
        },
      };
      // Like client-node's Watch: aborting the request ends it with an error.
      controller.signal.addEventListener("abort", () => session.close(new Error("aborted")));
      this.sessions.push(session);
      return controller;
    },
  };

  lastSession(): Session {
    const session = this.sessions.at(-1);
    if (!session) throw new Error("no watch session");
    return session;
  }
}

function informer(
  api: FakeApi,
  options: { assertReadOnly?: boolean; transform?: CacheTransform<V1Pod> } = {},
) {
  const changes: string[] = [];
  const inf = new ResilientInformer<V1Pod>(new KubeConfig(), {
    path: "/api/v1/pods",
    list: api.list,
    watch: api.watch,
    random: () => 0,
    backoff: { initialMs: 1_000, maxMs: 8_000, healthyAfterMs: 60_000 },
    assertReadOnly: options.assertReadOnly ?? false,
    ...(options.transform ? { transform: options.transform } : {}),
  });
  inf.onChange((p) => changes.push(`${p.metadata?.name}@${p.metadata?.resourceVersion}`));
  return { inf, changes };
}

describe("ResilientInformer", () => {
  it("counts a collection the API does not serve (a CRD not installed) as synced and empty, and notices it later", async () => {
    const api = new FakeApi();
    api.notServed = true;
    const { inf, changes } = informer(api);
    await inf.start();
    expect(inf.hasSynced()).toBe(true);
    expect(inf.list()).toEqual([]);

    api.notServed = false;
    api.pods.set("a", pod("a", "5"));
    await vi.advanceTimersByTimeAsync(8_000);
    expect(inf.hasSynced()).toBe(true);
    expect(changes).toEqual(["a@5"]);
    await inf.stop();
  });

  it("asks discovery, not the list, whether a collection it did not serve is served yet", async () => {
    const api = new FakeApi();
    api.notServed = true;
    let servedAsked = 0;
    const inf = new ResilientInformer<V1Pod>(new KubeConfig(), {
      path: "/apis/security.istio.io/v1/peerauthentications",
      list: api.list,
      watch: api.watch,
      served: async () => {
        servedAsked++;
        return !api.notServed;
      },
      random: () => 0,
      backoff: { initialMs: 1_000, maxMs: 8_000, healthyAfterMs: 60_000 },
      assertReadOnly: false,
    });
    await inf.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(api.listCalls).toHaveLength(1); // the first attempt only
    expect(servedAsked).toBeGreaterThan(2);
    // Probing backs off like any retry, up to maxMs, however long the CRD stays away.
    const askedBefore = servedAsked;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(servedAsked - askedBefore).toBeLessThanOrEqual(120_000 / 8_000 + 1);

    api.notServed = false;
    api.pods.set("a", pod("a", "5"));
    await vi.advanceTimersByTimeAsync(8_000);
    expect(api.listCalls).toHaveLength(2);
    expect(inf.list().map((p) => p.metadata?.name)).toEqual(["a"]);
    await inf.stop();
  });

  it("says when a list is refused (403), never counting it as synced, until a list succeeds", async () => {
    const api = new FakeApi();
    api.forbidden = true;
    const { inf } = informer(api);
    await inf.start();
    expect(inf.hasSynced()).toBe(false);
    expect(inf.refusal()).toContain("403");

    api.forbidden = false;
    await vi.advanceTimersByTimeAsync(8_000);
    expect(inf.hasSynced()).toBe(true);
    expect(inf.refusal()).toBeUndefined();
    await inf.stop();
  });

  it("fills the cache from the list, then follows adds, updates and deletes", async () => {
    const api = new FakeApi();
    api.pods.set("a", pod("a", "5"));
    api.pods.set("b", pod("b", "6"));
    const { inf, changes } = informer(api);
    expect(inf.hasSynced()).toBe(false);
    await inf.start();
    expect(inf.hasSynced()).toBe(true);
    expect(inf.list().map((p) => p.metadata?.name)).toEqual(["a", "b"]);
    expect(changes).toEqual(["a@5", "b@6"]);
    expect(api.lastSession().params).toMatchObject({ resourceVersion: "10", allowWatchBookmarks: true });

    const watch = api.lastSession();
    watch.send("ADDED", pod("c", "11"));
    watch.send("MODIFIED", pod("a", "12", { changed: "yes" }));
    watch.send("DELETED", pod("b", "13"));
    watch.send("BOOKMARK", { metadata: { resourceVersion: "14" } });
    expect(changes).toEqual(["a@5", "b@6", "c@11", "a@12", "b@13"]);
    expect(inf.get("a", "shop")?.metadata?.labels).toEqual({ changed: "yes" });
    expect(inf.get("b", "shop")).toBeUndefined();
    expect(inf.list("shop")).toHaveLength(2);
    expect(inf.latestResourceVersion()).toBe("14");
    await inf.stop();
  });

  it("restarts after the watch breaks, resuming from the last resourceVersion with the cache kept", async () => {
    const api = new FakeApi();
    api.pods.set("a", pod("a", "5"));
    const { inf, changes } = informer(api);
    await inf.start();
    api.lastSession().send("MODIFIED", pod("a", "20"));
    api.lastSession().close(new Error("connection reset by peer"));

    await vi.advanceTimersByTimeAsync(999);
    expect(api.sessions).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.sessions).toHaveLength(2);
    expect(api.lastSession().params.resourceVersion).toBe("20");
    expect(api.listCalls).toHaveLength(1);
    expect(inf.hasSynced()).toBe(true);
    expect(inf.get("a", "shop")?.metadata?.resourceVersion).toBe("20");

    api.lastSession().send("ADDED", pod("b", "21"));
    expect(changes).toEqual(["a@5", "a@20", "b@21"]);
    await inf.stop();
  });

  it("retries a failing list with growing backoff and reports synced only once a list succeeded", async () => {
    const api = new FakeApi();
    api.pods.set("a", pod("a", "5"));
    api.listFailures = 3;
    const { inf } = informer(api);
    const start = Date.now();
    await inf.start();
    expect(inf.hasSynced()).toBe(false);
    await vi.advanceTimersByTimeAsync(6_999);
    expect(inf.hasSynced()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.listCalls.map((t) => t - start)).toEqual([0, 1_000, 3_000, 7_000]);
    expect(inf.hasSynced()).toBe(true);
    expect(inf.list()).toHaveLength(1);
    await inf.stop();
  });

  it("caps the restart delay and resets it after a healthy run", async () => {
    const api = new FakeApi();
    const { inf } = informer(api);
    await inf.start();
    const gaps: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = api.sessions.length;
      const brokeAt = Date.now();
      api.lastSession().close(new Error("broken"));
      while (api.sessions.length === before) await vi.advanceTimersByTimeAsync(100);
      gaps.push(Date.now() - brokeAt);
    }
    expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);

    await vi.advanceTimersByTimeAsync(60_000);
    const brokeAt = Date.now();
    const before = api.sessions.length;
    api.lastSession().close(new Error("broken after a long healthy run"));
    while (api.sessions.length === before) await vi.advanceTimersByTimeAsync(100);
    expect(Date.now() - brokeAt).toBe(1_000);
    await inf.stop();
  });

  it("re-lists when its resourceVersion expired (410) and reports what changed meanwhile", async () => {
    const api = new FakeApi();
    api.pods.set("a", pod("a", "5"));
    api.pods.set("b", pod("b", "6"));
    const { inf, changes } = informer(api);
    await inf.start();

    api.pods.delete("b");
    api.pods.set("c", pod("c", "30"));
    api.resourceVersion = 30;
    api.lastSession().send("ERROR", { kind: "Status", code: 410, reason: "Expired" });
    api.lastSession().close();
    await settle();

    expect(api.listCalls).toHaveLength(2);
    expect(changes).toEqual(["a@5", "b@6", "b@6", "c@30"]);
    expect(
      inf
        .list()
        .map((p) => p.metadata?.name)
        .sort(),
    ).toEqual(["a", "c"]);
    expect(api.lastSession().params.resourceVersion).toBe("30");
    await inf.stop();
  });

  it("restarts when re-opening the watch fails before any request (e.g. credentials unreadable)", async () => {
    const api = new FakeApi();
    const realWatch = api.watch.watch;
    let refusals = 0;
    api.watch = {
      watch: (...args) => {
        if (refusals > 0) {
          refusals--;
          return Promise.reject(new Error("exec plugin failed"));
        }
        return realWatch(...args);
      },
    };
    const { inf } = informer(api);
    await inf.start();
    refusals = 2;
    // A clean close makes ListWatch reconnect on its own, where nobody awaits the watch call.
    api.lastSession().close();
    await settle();
    expect(api.sessions).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(api.sessions).toHaveLength(2);
    expect(api.lastSession().closed).toBe(false);
    await inf.stop();
  });

  it("stops for good: closes the watch and schedules no restart", async () => {
    const api = new FakeApi();
    const { inf } = informer(api);
    await inf.start();
    const session = api.lastSession();
    await inf.stop();
    expect(session.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(api.sessions).toHaveLength(1);
    expect(api.listCalls).toHaveLength(1);
  });

  it("stops cleanly while a restart is pending", async () => {
    const api = new FakeApi();
    const { inf } = informer(api);
    await inf.start();
    api.lastSession().close(new Error("broken"));
    await inf.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(api.sessions).toHaveLength(1);
  });

  it("freezes cached objects when read-only assertions are on", async () => {
    const api = new FakeApi();
    api.pods.set("a", pod("a", "5", { app: "web" }));
    const { inf } = informer(api, { assertReadOnly: true });
    await inf.start();
    api.lastSession().send("ADDED", pod("b", "11", { app: "db" }));
    for (const cached of inf.list()) {
      expect(() => {
        cached.metadata!.labels!.app = "changed";
      }).toThrow(TypeError);
    }
    await inf.stop();
  });

  it("keeps calling the other handlers when one throws", async () => {
    const api = new FakeApi();
    const { inf, changes } = informer(api);
    inf.onChange(() => {
      throw new Error("handler bug");
    });
    const late: string[] = [];
    const unsubscribe = inf.onChange((p) => late.push(p.metadata?.name ?? ""));
    await inf.start();
    api.lastSession().send("ADDED", pod("a", "11"));
    unsubscribe();
    api.lastSession().send("ADDED", pod("b", "12"));
    expect(changes).toEqual(["a@11", "b@12"]);
    expect(late).toEqual(["a"]);
    await inf.stop();
  });

  it("caches every listed and watched object as the transform returns it, and hands handlers the same", async () => {
    const api = new FakeApi();
    api.pods.set("a", {
      ...pod("a", "5", { app: "web" }),
      spec: { containers: [{ name: "app", image: "x" }] },
    });
    const seen: unknown[] = [];
    /** Keeps metadata only, with a marker to show the transform ran once per object. */
    const transform: CacheTransform<V1Pod> = (p) => {
      seen.push(p.metadata?.name);
      return { metadata: { ...p.metadata, labels: { ...p.metadata?.labels, shaped: "yes" } } };
    };
    const { inf } = informer(api, { transform, assertReadOnly: true });
    const handled: V1Pod[] = [];
    inf.onChange((p) => handled.push(p));
    await inf.start();
    const watch = api.lastSession();
    watch.send("ADDED", pod("b", "11"));
    watch.send("MODIFIED", pod("a", "12", { app: "api" }));
    watch.send("BOOKMARK", { metadata: { resourceVersion: "14" } });
    watch.send("DELETED", pod("b", "15"));

    expect(seen).toEqual(["a", "b", "a", "b"]);
    expect(inf.list()).toEqual([
      {
        metadata: {
          name: "a",
          namespace: "shop",
          resourceVersion: "12",
          labels: { app: "api", shaped: "yes" },
        },
      },
    ]);
    expect(handled.map((p) => p.metadata?.labels?.shaped)).toEqual(["yes", "yes", "yes", "yes"]);
    // A bookmark is not an object to cache: its resourceVersion passed through untouched.
    expect(inf.latestResourceVersion()).toBe("15");
    // Shaped objects are frozen like any cached object.
    expect(Object.isFrozen(inf.get("a", "shop")?.metadata)).toBe(true);
    await inf.stop();
  });
});
