import { afterEach, describe, expect, it } from "vitest";
import { createHealthServer, type HealthServer, type Readiness } from "../../../src/runtime/health-server.ts";
import { createMetrics } from "../../../src/runtime/metrics.ts";

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(readiness?: () => Readiness, liveness?: () => boolean): Promise<string> {
  const metrics = createMetrics();
  metrics.workQueueObserver().onAdd("meshmigration");
  server = createHealthServer({
    host: "127.0.0.1",
    port: 0,
    registry: metrics.registry,
    readiness,
    liveness,
  });
  const { host, port } = await server.start();
  expect(port).toBeGreaterThan(0);
  return `http://${host}:${port}`;
}

describe("health server", () => {
  it("answers /healthz with 200", async () => {
    const base = await start();
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok\n");
  });

  it("answers /healthz with 503 when the liveness predicate fails", async () => {
    const base = await start(undefined, () => false);
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
  });

  it("flips /readyz with the readiness predicate and says why it is not ready", async () => {
    let readiness: Readiness = { ready: false, reason: "caches not synced: pods" };
    const base = await start(() => readiness);
    let response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("caches not synced: pods");

    readiness = true;
    response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);

    readiness = false;
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
  });

  it("serves /metrics in the Prometheus text format", async () => {
    const base = await start();
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain("# TYPE workqueue_adds_total counter");
    expect(text).toContain('workqueue_adds_total{name="meshmigration"} 1');
  });

  it("answers 404 for unknown paths and 405 for other methods", async () => {
    const base = await start();
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: "POST" })).status).toBe(405);
  });

  it("closes even with a keep-alive connection open", async () => {
    const base = await start();
    await fetch(`${base}/healthz`, { headers: { connection: "keep-alive" } });
    await server?.close(1_000);
    server = undefined;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
