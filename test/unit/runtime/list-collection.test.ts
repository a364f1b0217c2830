// listCollection against a stand-in apiserver on loopback: paging, selectors, errors and
// transforms; and createInformers' transforms, list and watch, against the same stand-in.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  createInformers,
  informerSpec,
  KubeRequestError,
  listCollection,
  startInformers,
  stopInformers,
} from "../../../src/runtime/informer.ts";

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function fakeApiserver(
  answer: (url: URL) => { status: number; body: unknown },
  watchEvents?: (url: URL) => unknown[],
) {
  const urls: URL[] = [];
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    urls.push(url);
    if (url.searchParams.get("watch") === "true" && watchEvents) {
      // A watch: its events, one JSON object a line, and then it stays open.
      res.writeHead(200, { "content-type": "application/json" });
      for (const event of watchEvents(url)) res.write(`${JSON.stringify(event)}\n`);
      return;
    }
    const { status, body } = answer(url);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "fake", token: "t" }],
    contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
    currentContext: "fake",
  });
  return { kc, urls };
}

describe("listCollection", () => {
  it("follows continue tokens and returns every item with the list's resourceVersion", async () => {
    const { kc, urls } = await fakeApiserver((url) => {
      const page = url.searchParams.get("continue") ?? "";
      const next = { "": "p2", p2: "p3", p3: "" }[page] ?? "";
      return {
        status: 200,
        body: {
          kind: "PodList",
          apiVersion: "v1",
          metadata: { resourceVersion: "42", continue: next },
          items: [{ metadata: { name: `pod-${page || "p1"}`, namespace: "shop" } }],
        },
      };
    });
    const list = await listCollection(kc, "/api/v1/pods", { labelSelector: "app=web", pageSize: 1 });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(["pod-p1", "pod-p2", "pod-p3"]);
    expect(list.metadata?.resourceVersion).toBe("42");
    expect(urls).toHaveLength(3);
    expect(urls[0]?.pathname).toBe("/api/v1/pods");
    expect(urls[0]?.searchParams.get("labelSelector")).toBe("app=web");
    expect(urls[0]?.searchParams.get("limit")).toBe("1");
  });

  it("fails with the status code and the apiserver's message", async () => {
    const { kc } = await fakeApiserver(() => ({
      status: 403,
      body: { kind: "Status", code: 403, message: 'pods is forbidden: User "x" cannot list resource "pods"' },
    }));
    const failure = listCollection(kc, "/api/v1/pods");
    await expect(failure).rejects.toBeInstanceOf(KubeRequestError);
    await expect(failure).rejects.toMatchObject({
      statusCode: 403,
      message: expect.stringContaining("forbidden"),
    });
  });

  it("applies a transform to each item as its page arrives", async () => {
    const { kc } = await fakeApiserver((url) => {
      const page = url.searchParams.get("continue") ?? "";
      return {
        status: 200,
        body: {
          metadata: { resourceVersion: "42", continue: page === "" ? "p2" : "" },
          items: [{ metadata: { name: `pod-${page || "p1"}`, namespace: "shop", managedFields: [{}] } }],
        },
      };
    });
    const names: string[] = [];
    const list = await listCollection<V1Pod>(kc, "/api/v1/pods", {
      pageSize: 1,
      transform: (p) => {
        names.push(p.metadata?.name ?? "");
        return { metadata: { name: p.metadata?.name, namespace: "shop" } };
      },
    });
    expect(names).toEqual(["pod-p1", "pod-p2"]);
    expect(list.items).toEqual([
      { metadata: { name: "pod-p1", namespace: "shop" } },
      { metadata: { name: "pod-p2", namespace: "shop" } },
    ]);
  });
});

describe("createInformers", () => {
  it("caches listed and watched objects through each spec's transform, else the common one", async () => {
    const pod = (name: string, resourceVersion: string) => ({
      metadata: { name, namespace: "shop", resourceVersion, labels: { app: name } },
    });
    const { kc } = await fakeApiserver(
      () => ({ status: 200, body: { metadata: { resourceVersion: "10" }, items: [pod("a", "5")] } }),
      () => [{ type: "ADDED", object: pod("b", "11") }],
    );
    const tag =
      (by: string) =>
      (p: V1Pod): V1Pod => ({ metadata: { ...p.metadata, labels: { by } } });
    const informers = createInformers(
      kc,
      {
        own: informerSpec<V1Pod>("/api/v1/pods", { transform: tag("spec") }),
        common: informerSpec<V1Pod>("/api/v1/pods"),
      },
      { transform: (obj) => ({ ...obj, metadata: { ...obj.metadata, labels: { by: "common" } } }) },
    );
    await startInformers(informers);
    try {
      for (const [name, informer] of Object.entries(informers)) {
        for (let i = 0; i < 100 && informer.list().length < 2; i++)
          await new Promise((r) => setTimeout(r, 20));
        const by = name === "own" ? "spec" : "common";
        expect(informer.list().map((p) => [p.metadata?.name, p.metadata?.labels])).toEqual([
          ["a", { by }],
          ["b", { by }],
        ]);
      }
    } finally {
      await stopInformers(informers);
      server?.closeAllConnections();
    }
  });
});
