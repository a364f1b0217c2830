import { createServer, type Server } from "node:http";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servedByDiscovery } from "../../../src/runtime/informer.ts";

/** API discovery with Istio's security group installed and nothing of Linkerd's. */
let api: Server;
const requested: string[] = [];
const kc = new KubeConfig();

beforeAll(async () => {
  api = createServer((request, response) => {
    requested.push(request.url ?? "");
    if (request.url === "/apis/security.istio.io/v1") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ kind: "APIResourceList", resources: [{ name: "peerauthentications" }] }));
      return;
    }
    response.writeHead(404);
    response.end("404 page not found");
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  const server = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
  kc.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
});

afterAll(async () => {
  await new Promise((resolve) => api.close(resolve));
});

describe("servedByDiscovery", () => {
  it("reads the group version's resources: served, a resource it lacks, a group not installed", async () => {
    expect(await servedByDiscovery(kc, "/apis/security.istio.io/v1/peerauthentications")).toBe(true);
    expect(await servedByDiscovery(kc, "/apis/security.istio.io/v1/authorizationpolicies")).toBe(false);
    expect(await servedByDiscovery(kc, "/apis/policy.linkerd.io/v1beta3/servers")).toBe(false);
    expect(requested).toEqual([
      "/apis/security.istio.io/v1",
      "/apis/security.istio.io/v1",
      "/apis/policy.linkerd.io/v1beta3",
    ]);
  });

  it("counts the core group as always served (it has no CRD to wait for)", async () => {
    requested.length = 0;
    expect(await servedByDiscovery(kc, "/api/v1/pods")).toBe(true);
    expect(requested).toEqual([]);
  });
});
