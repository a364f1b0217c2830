// Plan before you move, through the operator: spec.dryRun publishes the whole plan
// and changes nothing; a blocking cross-mesh warning holds the migration, as a
// condition and an Event, until it is resolved or acknowledged.
import { describe, expect, it } from "vitest";
import { waitForAppsOn, waitForSettled } from "../support/apps.ts";
import { installPolicyCrds } from "../support/crd.ts";
import {
  applyMigration,
  condition,
  eventsOf,
  getMigration,
  kubectlWaitReady,
  waitForMigration,
} from "../support/migrations.ts";
import { migrationSuite } from "../support/suite.ts";
import { waitFor } from "../support/wait.ts";

const suite = migrationSuite({
  before: async () => {
    await installPolicyCrds();
  },
});
const { clients, migrationName, patchSpec } = suite;
const appNamespace = (prefix: string, labels: Record<string, string>) =>
  suite.appNamespace(prefix, { labels, deploymentOnly: true });

/** resourceVersion of every object a migration could touch in these namespaces. */
async function versions(namespaces: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const ns of namespaces) {
    out[`ns/${ns}`] = (await clients.core.readNamespace({ name: ns })).metadata?.resourceVersion ?? "";
    for (const d of (await clients.apps.listNamespacedDeployment({ namespace: ns })).items) {
      out[`deploy/${ns}/${d.metadata?.name}`] = d.metadata?.resourceVersion ?? "";
    }
    for (const p of (await clients.core.listNamespacedPod({ namespace: ns })).items) {
      out[`pod/${ns}/${p.metadata?.name}`] = p.metadata?.resourceVersion ?? "";
    }
  }
  return out;
}

describe("dry run and preflight", () => {
  it("publishes the whole plan for dryRun: true and changes nothing; turning it off carries it out", async () => {
    const ns = await appNamespace("dry", { "istio-injection": "enabled" });
    await waitForAppsOn(clients, ns, "istio", 3);
    await waitForSettled(clients, ns);
    const before = await versions([ns]);
    const name = migrationName("dry-run");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [ns] }],
      dryRun: true,
    });
    const planned = await waitForMigration(clients, name, (m) => m.status?.phase === "Planning", "Planning");
    expect(condition(planned, "Ready")).toMatchObject({ status: "False", reason: "DryRun" });
    expect(condition(planned, "Ready")?.message).toContain("nothing in the cluster was changed");
    const plan = (planned.status as { plan?: { batches?: Array<{ namespaces: Array<{ name: string }> }> } })
      .plan;
    expect(plan?.batches?.flatMap((b) => b.namespaces.map((n) => n.name))).toEqual([ns]);
    expect(JSON.stringify(plan)).toContain("linkerd.io/inject");
    expect(JSON.stringify(plan)).toContain("web");
    expect(await versions([ns])).toEqual(before);

    await patchSpec(name, { dryRun: false });
    await kubectlWaitReady(name);
    await waitForAppsOn(clients, ns, "linkerd", 3);
    expect((await getMigration(clients, name)).status).not.toHaveProperty("plan");
  });

  it("holds on a blocking warning (Istio STRICT mTLS on a namespace that stays), until acknowledged", async () => {
    const staying = await appNamespace("stays", { "istio-injection": "enabled" });
    const moving = await appNamespace("moves", { "istio-injection": "enabled" });
    await waitForAppsOn(clients, moving, "istio", 3);
    await clients.custom.createNamespacedCustomObject({
      group: "security.istio.io",
      version: "v1",
      plural: "peerauthentications",
      namespace: staying,
      body: {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: { name: "strict" },
        spec: { mtls: { mode: "STRICT" } },
      },
    });
    await waitForSettled(clients, moving);
    const before = await versions([moving]);
    const name = migrationName("strict");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [moving] }],
    });
    const held = await waitForMigration(
      clients,
      name,
      (m) => condition(m, "Degraded")?.reason === "BlockingPreflightWarning",
      "Degraded BlockingPreflightWarning",
    );
    const message = condition(held, "Degraded")?.message ?? "";
    expect(message).toContain("IstioStrictMTLS");
    expect(message).toContain(`${staying}/strict`);
    expect(message).toContain("blockOnWarnings: false");
    expect(await versions([moving])).toEqual(before);
    await waitFor(async () => (await eventsOf(name)).some((e) => e.reason === "IstioStrictMTLS"), {
      description: "an IstioStrictMTLS Event",
    });

    await patchSpec(name, { strategy: { blockOnWarnings: false } });
    await kubectlWaitReady(name);
    const done = await getMigration(clients, name);
    expect(JSON.stringify((done.status as { warnings?: unknown }).warnings)).toContain("IstioStrictMTLS");
    // Other suites share the cluster: a STRICT policy left behind would block their migrations.
    await clients.custom.deleteNamespacedCustomObject({
      group: "security.istio.io",
      version: "v1",
      plural: "peerauthentications",
      namespace: staying,
      name: "strict",
    });
  });
});
