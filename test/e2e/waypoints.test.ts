// Sidecar → ambient with a waypoint, end to end, in the order Istio's migration guide gives: the
// waypoint exists and is Programmed, then istio.io/use-waypoint, then the ambient label, then the
// restart. Rollback goes back in reverse and removes only the waypoint the operator made. The
// order is read from the MeshMigration's Events (written in etcd revision order), never from logs.
// Needs the cluster's Gateway API CRDs, the istio-waypoint GatewayClass and a waypoint controller
// that sets Programmed (test/cluster/local-cluster.ts).
import { describe, expect, it } from "vitest";
import { namespaceMetadata, waitForAppsOn } from "../support/apps.ts";
import { installPolicyCrds } from "../support/crd.ts";
import type { E2eClients } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
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

const { clients, appNamespace, migrationName, patchSpec } = migrationSuite({ before: installPolicyCrds });

const GATEWAYS = { group: "gateway.networking.k8s.io", version: "v1", plural: "gateways" };
const SIDECAR = { labels: { "istio-injection": "enabled" }, deploymentOnly: true };

interface GatewayObject {
  metadata: {
    uid: string;
    resourceVersion: string;
    generation?: number;
    annotations?: Record<string, string>;
  };
  spec: Record<string, unknown>;
}

async function readGateway(
  c: E2eClients,
  namespace: string,
  name: string,
): Promise<GatewayObject | undefined> {
  try {
    return (await c.custom.getNamespacedCustomObject({ ...GATEWAYS, namespace, name })) as GatewayObject;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** A waypoint as a user makes one (what `istioctl waypoint apply` writes). */
async function createUserWaypoint(namespace: string, name: string): Promise<GatewayObject> {
  return (await clients.custom.createNamespacedCustomObject({
    ...GATEWAYS,
    namespace,
    body: {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name, labels: { "istio.io/waypoint-for": "service" } },
      spec: {
        gatewayClassName: "istio-waypoint",
        listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }],
      },
    },
  })) as GatewayObject;
}

/** An L7 AuthorizationPolicy attached to the waypoint: only a waypoint enforces it in ambient. */
async function createWaypointPolicy(namespace: string, waypoint: string): Promise<void> {
  await clients.custom.createNamespacedCustomObject({
    group: "security.istio.io",
    version: "v1",
    plural: "authorizationpolicies",
    namespace,
    body: {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "get-only" },
      spec: {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: waypoint }],
        action: "ALLOW",
        rules: [{ to: [{ operation: { methods: ["GET"] } }] }],
      },
    },
  });
}

/** The mesh-related keys and the user's own, without the operator's bookkeeping. */
function withoutBookkeeping(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).filter(([key]) => !key.startsWith("meshmigration.io/")));
}

/** The reasons of the migration's Events about one namespace, in the order they were written. */
async function reasonsFor(name: string, namespace: string, wanted: readonly string[]): Promise<string[]> {
  return (await eventsOf(name))
    .filter((e) => wanted.includes(e.reason) && e.message.includes(`Namespace ${namespace}`))
    .map((e) => e.reason);
}

const FORWARD_ORDER = ["WaypointCreated", "WaypointLabelled", "NamespaceRelabelled"];
const ROLLBACK_ORDER = ["NamespaceRestored", "WaypointLabelRestored", "WaypointDeleted"];

describe("waypoints in a sidecar → ambient migration", () => {
  it("blocks a namespace whose L7 policy needs a waypoint until one is given, then migrates in Istio's order and rolls back", async () => {
    const ns = await appNamespace("wp-own", SIDECAR);
    await waitForAppsOn(clients, ns, "istio", 3);
    await createWaypointPolicy(ns, "waypoint");
    const before = await namespaceMetadata(clients, ns);

    const name = migrationName("wp-own");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "istio-ambient" },
      batches: [{ name: "all", namespaces: [ns] }],
    });
    const blocked = await waitForMigration(
      clients,
      name,
      (m) => condition(m, "Degraded")?.reason === "BlockingPreflightWarning",
      "blocked by the preflight",
    );
    expect(condition(blocked, "Degraded")?.message).toContain("IstioWaypointTargetMissing");
    expect(withoutBookkeeping((await namespaceMetadata(clients, ns)).labels)).toEqual(before.labels);
    expect(await readGateway(clients, ns, "waypoint")).toBeUndefined();

    await patchSpec(name, {
      target: { mesh: "istio-ambient", waypoint: { name: "waypoint", create: true } },
    });
    await kubectlWaitReady(name, 240);
    await waitForAppsOn(clients, ns, "istio-ambient", 3);

    const gateway = await readGateway(clients, ns, "waypoint");
    expect(gateway?.metadata.annotations?.["meshmigration.io/owner"]).toBe(name);
    expect(gateway?.spec).toMatchObject({ gatewayClassName: "istio-waypoint" });
    const after = await namespaceMetadata(clients, ns);
    expect(after.labels["istio.io/use-waypoint"]).toBe("waypoint");
    expect(after.labels["istio.io/dataplane-mode"]).toBe("ambient");
    expect(after.labels["istio-injection"]).toBeUndefined();
    expect(await reasonsFor(name, ns, FORWARD_ORDER)).toEqual(FORWARD_ORDER);

    await patchSpec(name, { rollback: true });
    await waitForMigration(clients, name, (m) => m.status?.phase === "RolledBack", "RolledBack", 180_000);
    await waitForAppsOn(clients, ns, "istio", 3);
    await waitFor(async () => (await readGateway(clients, ns, "waypoint")) === undefined, {
      description: `waypoint of ${ns} deleted`,
      timeoutMs: 30_000,
    });
    const restored = await namespaceMetadata(clients, ns);
    expect(withoutBookkeeping(restored.labels)).toEqual(before.labels);
    expect(withoutBookkeeping(restored.annotations)).toEqual(before.annotations);
    expect(await reasonsFor(name, ns, ROLLBACK_ORDER)).toEqual(ROLLBACK_ORDER);
  });

  it("uses a waypoint the user made, and leaves it and the user's label untouched through migrate and rollback", async () => {
    const ns = await appNamespace("wp-user", SIDECAR);
    await waitForAppsOn(clients, ns, "istio", 3);
    await kubectl(["label", "namespace", ns, "istio.io/use-waypoint=team-waypoint"]);
    const created = await createUserWaypoint(ns, "team-waypoint");
    await createWaypointPolicy(ns, "team-waypoint");
    const before = await namespaceMetadata(clients, ns);

    const name = migrationName("wp-user");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "istio-ambient", waypoint: { name: "team-waypoint" } },
      batches: [{ name: "all", namespaces: [ns] }],
    });
    await kubectlWaitReady(name, 240);
    await waitForAppsOn(clients, ns, "istio-ambient", 3);
    expect((await namespaceMetadata(clients, ns)).labels["istio.io/use-waypoint"]).toBe("team-waypoint");
    // Nothing created: the user's waypoint is the one in use, and not marked as the operator's.
    const events = await eventsOf(name);
    expect(events.map((e) => e.reason)).not.toContain("WaypointCreated");

    await patchSpec(name, { rollback: true });
    await waitForMigration(clients, name, (m) => m.status?.phase === "RolledBack", "RolledBack", 180_000);
    await waitForAppsOn(clients, ns, "istio", 3);

    const survivor = await readGateway(clients, ns, "team-waypoint");
    expect(survivor?.metadata.uid).toBe(created.metadata.uid);
    expect(survivor?.metadata.generation).toBe(created.metadata.generation);
    expect(survivor?.spec).toEqual(created.spec);
    expect(survivor?.metadata.annotations?.["meshmigration.io/owner"]).toBeUndefined();
    const restored = await namespaceMetadata(clients, ns);
    expect(withoutBookkeeping(restored.labels)).toEqual(before.labels);
    expect((await eventsOf(name)).map((e) => e.reason)).not.toContain("WaypointDeleted");
    const done = await getMigration(clients, name);
    expect(condition(done, "Ready")?.reason).toBe("RolledBack");
  });
});
