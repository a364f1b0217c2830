// listCollection against a stand-in apiserver on loopback: paging, selectors and errors.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { KubeRequestError, listCollection } from "../../../src/runtime/informer.ts";

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function fakeApiserver(answer: (url: URL) => { status: number; body: unknown }) {
  const urls: URL[] = [];
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    urls.push(url);
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
});
