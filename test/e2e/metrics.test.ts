// The operator's HTTP endpoints as the kubelet and Prometheus see them: /healthz, /readyz once
// the caches are synced, and /metrics with controller-runtime's and client-go's metric names
// plus the migrations' own, after a real migration has reached Ready.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppNamespace, waitForAppsOn } from "../support/apps.ts";
import { installCrd } from "../support/crd.ts";
import { e2eClients, uniqueName } from "../support/kube.ts";
import { applyMigration, deleteMigration, kubectlWaitReady } from "../support/migrations.ts";
import { type OperatorProcess, RUN_ID, startOperator } from "../support/operator.ts";
import { waitFor } from "../support/wait.ts";

const clients = e2eClients();
const createdNamespaces: string[] = [];
const createdMigrations: string[] = [];
let operator: OperatorProcess;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  samples: Sample[];
  /** Metric family name → type, from the `# TYPE` lines. */
  types: Map<string, string>;
}

/** Parses the Prometheus text exposition format (the subset prom-client writes). */
function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1] ?? "", type[2] ?? "");
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1] ?? ""] = (label[2] ?? "").replace(/\\(.)/g, "$1");
    }
    samples.push({ name: match[1] ?? "", labels, value: Number(match[3]) });
  }
  return { samples, types };
}

/** The value of the one sample with this name whose labels include `labels`. */
function sampleValue(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = exposition.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

async function get(path: string): Promise<{ status: number; body: string; contentType: string }> {
  const response = await fetch(`http://127.0.0.1:${operator.healthPort()}${path}`);
  return {
    status: response.status,
    body: await response.text(),
    contentType: response.headers.get("content-type") ?? "",
  };
}

async function scrape(): Promise<Exposition> {
  const response = await get("/metrics");
  expect(response.status).toBe(200);
  expect(response.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(response.body);
}

beforeAll(async () => {
  await installCrd();
  operator = await startOperator();
});

afterAll(async () => {
  for (const name of createdMigrations) await deleteMigration(name);
  await operator?.stop();
  for (const name of createdNamespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
});

describe("health endpoints", () => {
  it("answers /healthz at once and /readyz 200 once the caches are synced", async () => {
    expect((await get("/healthz")).status).toBe(200);
    const ready = await waitFor(
      async () => {
        const response = await get("/readyz");
        return response.status === 200 ? response : undefined;
      },
      { description: "/readyz 200", timeoutMs: 60_000 },
    );
    expect(ready.body).toBe("ok\n");
    expect((await get("/nothing-here")).status).toBe(404);
  });
});

describe("/metrics after a migration reached Ready", () => {
  it("reports the controller, the work queue, leadership and the migration", async () => {
    const ns = uniqueName("metrics");
    createdNamespaces.push(ns);
    await createAppNamespace(clients, ns, { labels: { "istio-injection": "enabled" }, deploymentOnly: true });
    await waitForAppsOn(clients, ns, "istio", 3);
    const name = uniqueName("metrics");
    createdMigrations.push(name);
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [ns] }],
    });
    await kubectlWaitReady(name);

    // The gauges follow the status the reconcile published: the scrape may just precede them.
    const metrics = await waitFor(
      async () => {
        const scraped = await scrape();
        return sampleValue(scraped, "meshmigration_namespaces", { migration: name, phase: "Migrated" }) === 1
          ? scraped
          : undefined;
      },
      { description: `meshmigration_namespaces{migration="${name}",phase="Migrated"} 1`, timeoutMs: 30_000 },
    );

    const controller = { controller: "meshmigration" };
    const queue = { name: "meshmigration" };
    expect(
      sampleValue(metrics, "controller_runtime_reconcile_total", { ...controller, result: "success" }),
    ).toBeGreaterThan(0);
    expect(metrics.types.get("controller_runtime_reconcile_time_seconds")).toBe("histogram");
    expect(
      sampleValue(metrics, "controller_runtime_reconcile_time_seconds_count", controller),
    ).toBeGreaterThan(0);
    expect(
      sampleValue(metrics, "controller_runtime_reconcile_time_seconds_bucket", { ...controller, le: "+Inf" }),
    ).toBe(sampleValue(metrics, "controller_runtime_reconcile_time_seconds_count", controller));

    expect(metrics.types.get("workqueue_depth")).toBe("gauge");
    expect(sampleValue(metrics, "workqueue_depth", queue)).toBeGreaterThanOrEqual(0);
    expect(sampleValue(metrics, "workqueue_adds_total", queue)).toBeGreaterThan(0);
    // A counter appears once incremented; its family is always declared.
    expect(metrics.types.get("workqueue_retries_total")).toBe("counter");
    expect(sampleValue(metrics, "workqueue_retries_total", queue) ?? 0).toBeGreaterThanOrEqual(0);

    expect(sampleValue(metrics, "leader_election_master_status", { name: `mmo-${RUN_ID}` })).toBe(1);

    expect(sampleValue(metrics, "meshmigration_namespaces", { migration: name, phase: "Migrated" })).toBe(1);
    expect(sampleValue(metrics, "meshmigration_double_meshed_pods", { migration: name })).toBe(0);
    expect(sampleValue(metrics, "meshmigration_phase", { migration: name, phase: "Succeeded" })).toBe(1);
    expect(sampleValue(metrics, "meshmigration_phase", { migration: name, phase: "Progressing" })).toBe(0);

    // Still ready after all that work.
    expect((await get("/readyz")).status).toBe(200);
  });
});
