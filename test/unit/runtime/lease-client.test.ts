// The real LeaseClient against a stand-in apiserver on loopback: what goes over the wire.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig, V1MicroTime } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { coordinationLeaseClient, formatMicroTime } from "../../../src/runtime/leader-election.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function fakeApiserver(answer: (req: Seen) => { status: number; body: unknown }) {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      seen.push(request);
      const { status, body: reply } = answer(request);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(reply));
    });
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
  return { client: coordinationLeaseClient(kc), seen };
}

const lease = (resourceVersion: string) => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: { name: "operator", namespace: "ops", resourceVersion },
  spec: { holderIdentity: "a", renewTime: "2025-01-01T00:00:00.123456Z" },
});

describe("coordinationLeaseClient", () => {
  it("sends renewals as JSON merge patches carrying the resourceVersion that was read", async () => {
    const { client, seen } = await fakeApiserver(() => ({ status: 200, body: lease("2") }));
    const renewTime = formatMicroTime(Date.UTC(2025, 0, 1, 0, 0, 1, 5));
    await client.patch("ops", "operator", {
      metadata: { resourceVersion: "1" },
      spec: { holderIdentity: "a", renewTime },
    });
    const patch = seen[0]!;
    expect(patch.method).toBe("PATCH");
    expect(patch.url).toBe("/apis/coordination.k8s.io/v1/namespaces/ops/leases/operator");
    expect(patch.headers["content-type"]).toBe("application/merge-patch+json");
    expect(JSON.parse(patch.body)).toEqual({
      metadata: { resourceVersion: "1" },
      spec: { holderIdentity: "a", renewTime: "2025-01-01T00:00:01.005000Z" },
    });
  });

  it("surfaces a 409 Conflict as an error with code 409", async () => {
    const { client } = await fakeApiserver(() => ({
      status: 409,
      body: { kind: "Status", code: 409, reason: "Conflict", message: "the object has been modified" },
    }));
    await expect(
      client.patch("ops", "operator", { metadata: { resourceVersion: "1" }, spec: { holderIdentity: "b" } }),
    ).rejects.toMatchObject({ code: 409 });
  });

  it("reads a missing Lease as undefined", async () => {
    const { client } = await fakeApiserver(() => ({
      status: 404,
      body: { kind: "Status", code: 404, reason: "NotFound" },
    }));
    expect(await client.get("ops", "operator")).toBeUndefined();
  });

  it("creates the Lease with microsecond times", async () => {
    const { client, seen } = await fakeApiserver(() => ({ status: 201, body: lease("1") }));
    await client.create("ops", {
      metadata: { name: "operator", namespace: "ops" },
      spec: { holderIdentity: "a", renewTime: new V1MicroTime(Date.UTC(2025, 0, 1)) },
    });
    expect(seen[0]?.method).toBe("POST");
    expect(JSON.parse(seen[0]!.body).spec.renewTime).toBe("2025-01-01T00:00:00.000000Z");
  });
});
