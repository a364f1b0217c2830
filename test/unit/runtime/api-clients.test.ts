import { createServer, type Server } from "node:http";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeApiClient } from "../../../src/runtime/api-clients.ts";

/** An apiserver that accepts every request and never answers (a connection the network lost). */
let silent: Server;
let port = 0;

beforeAll(async () => {
  silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  port = (silent.address() as { port: number }).port;
});

afterAll(async () => {
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
});

function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

describe("makeApiClient", () => {
  it("gives every request a deadline: an apiserver that never answers fails the call", async () => {
    const core = makeApiClient(kubeConfig(), k8s.CoreV1Api, 200);
    await expect(core.readNamespace({ name: "shop" })).rejects.toThrow(/abort|timeout/i);
  });

  it("still authenticates the request as the kubeconfig says", async () => {
    let authorization: string | undefined;
    const answering = createServer((request, response) => {
      authorization = request.headers.authorization;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } }));
    });
    await new Promise<void>((resolve) => answering.listen(0, "127.0.0.1", resolve));
    const kc = kubeConfig();
    const cluster = kc.clusters[0] as k8s.Cluster;
    kc.clusters[0] = {
      ...cluster,
      server: `http://127.0.0.1:${(answering.address() as { port: number }).port}`,
    };
    const ns = await makeApiClient(kc, k8s.CoreV1Api).readNamespace({ name: "shop" });
    answering.close();
    expect(ns.metadata?.name).toBe("shop");
    expect(authorization).toBe("Bearer t");
  });
});
