// Consul as source and target, end to end, with Consul's own connect injector (the vendored
// consul-k8s-control-plane the mesh host runs with its chart's flags), Istio's own istiod and
// Linkerd's own proxy-injector. Consul has no namespace marker: a namespace joins and leaves
// through the consul.hashicorp.com/connect-inject annotation on its pod templates, so each round
// trip checks every template (Deployment, StatefulSet, DaemonSet) exactly as it was after the
// rollback. A Consul mesh gateway in a moved namespace is never restarted; with Consul's injector
// down (it fails closed) nothing is touched. The global setup also holds every suite to "no pod
// ever runs consul-dataplane beside another mesh's proxy" (test/support/consul-beside-proxy.ts).
import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { setInjectorProcessDown, setInjectorUp } from "../emulators/control.ts";
import { CONSUL_INJECTOR, CONSUL_WEBHOOK_NAMESPACE_LABEL } from "../emulators/names.ts";
import {
  type AppNamespaceOptions,
  livePods,
  meshOf,
  namespaceMetadata,
  waitForAppsOn,
} from "../support/apps.ts";
import { kubectl } from "../support/kubectl.ts";
import {
  applyMigration,
  condition,
  getMigration,
  kubectlWaitReady,
  waitForMigration,
} from "../support/migrations.ts";
import {
  restartStamps,
  STAMP_KEY,
  type StringMap,
  TEMPLATE_ORIGINAL_KEY,
  withoutBookkeeping,
} from "../support/snapshots.ts";
import { migrationSuite } from "../support/suite.ts";

const { clients, appNamespace, migrationName, patchSpec } = migrationSuite();

const CONNECT_INJECT = "consul.hashicorp.com/connect-inject";
/** Namespaces Consul's webhook selects in the test cluster (its chart's namespaceSelector value). */
const CONSUL_SELECTED = { [CONSUL_WEBHOOK_NAMESPACE_LABEL]: "enabled" };
const ON_CONSUL: AppNamespaceOptions = {
  labels: CONSUL_SELECTED,
  podTemplate: { annotations: { [CONNECT_INJECT]: "true" } },
};
const ON_ISTIO: AppNamespaceOptions = { labels: { ...CONSUL_SELECTED, "istio-injection": "enabled" } };
const ROLLOUT_SECONDS = 240;
const WORKLOADS = ["deployment/web", "statefulset/db", "daemonset/agent"] as const;

interface TemplateView {
  labels: StringMap;
  /** Without the restart stamp: a restart leaves it, as `kubectl rollout restart` does. */
  annotations: StringMap;
  /** The operator's record of the template's mesh keys, present only while it may need it. */
  record: string | undefined;
}

/** Every workload's pod-template labels and annotations. */
async function templates(namespace: string): Promise<Record<string, TemplateView>> {
  const [web, db, agent] = await Promise.all([
    clients.apps.readNamespacedDeployment({ name: "web", namespace }),
    clients.apps.readNamespacedStatefulSet({ name: "db", namespace }),
    clients.apps.readNamespacedDaemonSet({ name: "agent", namespace }),
  ]);
  const view = (workload: typeof web | typeof db | typeof agent): TemplateView => {
    const annotations = { ...(workload.spec?.template.metadata?.annotations ?? {}) };
    delete annotations[STAMP_KEY];
    return {
      labels: workload.spec?.template.metadata?.labels ?? {},
      annotations,
      record: workload.metadata?.annotations?.[TEMPLATE_ORIGINAL_KEY],
    };
  };
  return { [WORKLOADS[0]]: view(web), [WORKLOADS[1]]: view(db), [WORKLOADS[2]]: view(agent) };
}

function metadataWithoutBookkeeping(meta: { labels: StringMap; annotations: StringMap }) {
  return { labels: withoutBookkeeping(meta.labels), annotations: withoutBookkeeping(meta.annotations) };
}

/**
 * A Consul mesh gateway as the chart renders its pods (FACTS.md, Traps for a detector): the chart's
 * app: consul label, connect-inject "false", the gateway-kind annotation, and Consul's Envoy running
 * under the gateway's own container name.
 */
async function createMeshGateway(namespace: string): Promise<V1Deployment> {
  const labels = { app: "consul", chart: "consul-helm", release: "consul", component: "mesh-gateway" };
  return clients.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: "consul-mesh-gateway", labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: {
            labels,
            annotations: {
              [CONNECT_INJECT]: "false",
              "consul.hashicorp.com/gateway-kind": "mesh-gateway",
              "consul.hashicorp.com/gateway-consul-service-name": "mesh-gateway",
            },
          },
          spec: {
            initContainers: [
              { name: "mesh-gateway-init", image: "hashicorp/consul-k8s-control-plane:1.9.0" },
            ],
            containers: [{ name: "mesh-gateway", image: "hashicorp/consul-dataplane:1.9.0" }],
          },
        },
      },
    },
  });
}

async function createService(namespace: string, app: string): Promise<void> {
  await clients.core.createNamespacedService({
    namespace,
    body: { metadata: { name: app }, spec: { selector: { app }, ports: [{ port: 8080 }] } },
  });
}

/** The gateway's generation, pod template and pods: what "left alone" compares. */
async function gatewayState(namespace: string) {
  const deployment = await clients.apps.readNamespacedDeployment({ name: "consul-mesh-gateway", namespace });
  const pods = (await livePods(clients, namespace)).filter((p) => p.metadata?.labels?.app === "consul");
  return {
    generation: deployment.metadata?.generation,
    template: deployment.spec?.template.metadata,
    pods: pods.map((p) => ({ uid: p.metadata?.uid, containers: p.spec?.containers.map((c) => c.name) })),
  };
}

interface RoundTrip {
  prefix: string;
  source: "consul" | "istio";
  target: "consul" | "istio" | "linkerd";
  namespace: AppNamespaceOptions;
  /** What the migration must have written on the namespace and every template, forward. */
  forward: { namespace: Partial<{ labels: StringMap; annotations: StringMap }>; template: StringMap };
  /** Template annotation keys the forward migration must have removed. */
  removedFromTemplates: string[];
  withGateway: boolean;
}

const ROUND_TRIPS: RoundTrip[] = [
  {
    prefix: "c2i",
    source: "consul",
    target: "istio",
    namespace: ON_CONSUL,
    forward: { namespace: { labels: { "istio-injection": "enabled" } }, template: {} },
    removedFromTemplates: [CONNECT_INJECT],
    withGateway: true,
  },
  {
    prefix: "c2l",
    source: "consul",
    target: "linkerd",
    namespace: ON_CONSUL,
    forward: { namespace: { annotations: { "linkerd.io/inject": "enabled" } }, template: {} },
    removedFromTemplates: [CONNECT_INJECT],
    withGateway: true,
  },
  {
    prefix: "i2c",
    source: "istio",
    target: "consul",
    namespace: ON_ISTIO,
    forward: { namespace: {}, template: { [CONNECT_INJECT]: "true" } },
    removedFromTemplates: [],
    withGateway: false,
  },
];

describe("Consul as source and target", () => {
  it.each(ROUND_TRIPS.map((trip) => [`${trip.source} → ${trip.target}`, trip] as const))(
    "moves %s with every pod verified, and rolls back to exactly what was there",
    async (_title, trip) => {
      const ns = await appNamespace(trip.prefix, trip.namespace);
      if (trip.withGateway) await createMeshGateway(ns);
      await waitForAppsOn(clients, ns, trip.source);
      const namespaceBefore = await namespaceMetadata(clients, ns);
      const templatesBefore = await templates(ns);
      const gatewayBefore = trip.withGateway ? await gatewayState(ns) : undefined;
      if (gatewayBefore) expect(gatewayBefore.pods).toHaveLength(1);

      const name = migrationName(trip.prefix);
      await applyMigration(name, {
        source: { mesh: trip.source },
        target: { mesh: trip.target },
        batches: [{ name: "all", namespaces: [ns] }],
      });
      await kubectlWaitReady(name, ROLLOUT_SECONDS);
      await waitForAppsOn(clients, ns, trip.target);
      const migrated = await getMigration(clients, name);
      expect(migrated.status).toMatchObject({ phase: "Succeeded", progress: "1/1", doubleMeshedPods: 0 });
      expect(migrated.status?.namespaces?.[0]).toMatchObject({
        phase: "Migrated",
        workloads: { total: 3, restarted: 3, ready: 3 },
        pods: { target: 8, source: 0, unmeshed: 0, doubleMeshed: 0 },
      });
      const namespaceAfter = await namespaceMetadata(clients, ns);
      expect(namespaceAfter.labels).toMatchObject(trip.forward.namespace.labels ?? {});
      expect(namespaceAfter.annotations).toMatchObject(trip.forward.namespace.annotations ?? {});
      for (const [workload, view] of Object.entries(await templates(ns))) {
        expect({ workload, ...view.annotations }).toMatchObject({ workload, ...trip.forward.template });
        for (const key of trip.removedFromTemplates) expect(view.annotations[key], workload).toBeUndefined();
      }
      if (gatewayBefore) expect(await gatewayState(ns)).toEqual(gatewayBefore);

      await patchSpec(name, { rollback: true });
      await waitForMigration(clients, name, (m) => m.status?.phase === "RolledBack", "RolledBack", 240_000);
      await kubectlWaitReady(name, ROLLOUT_SECONDS);
      await waitForAppsOn(clients, ns, trip.source);
      expect(metadataWithoutBookkeeping(await namespaceMetadata(clients, ns))).toEqual(
        metadataWithoutBookkeeping(namespaceBefore),
      );
      // Every pod template exactly as it was, and no record of it left behind.
      expect(await templates(ns)).toEqual(templatesBefore);
      if (gatewayBefore) expect(await gatewayState(ns)).toEqual(gatewayBefore);
    },
  );

  it("plans, before any change, the intention a caller leaving Consul loses and the namespace that refuses it", async () => {
    const moving = await appNamespace("c-plan-web", { ...ON_CONSUL, deploymentOnly: true });
    const staying = await appNamespace("c-plan-ledger", { ...ON_CONSUL, deploymentOnly: true });
    await createService(moving, "web");
    await createService(staying, "ledger");
    // Consul's own CRD, installed by its injector; its controller syncs it to the server stub (which refuses).
    await clients.custom.createNamespacedCustomObject({
      group: "consul.hashicorp.com",
      version: "v1alpha1",
      plural: "serviceintentions",
      namespace: staying,
      body: {
        apiVersion: "consul.hashicorp.com/v1alpha1",
        kind: "ServiceIntentions",
        metadata: { name: "ledger" },
        spec: { destination: { name: "ledger" }, sources: [{ name: "web", action: "allow" }] },
      },
    });
    await waitForAppsOn(clients, moving, "consul", 3);
    const webTemplate = async () =>
      (await clients.apps.readNamespacedDeployment({ name: "web", namespace: moving })).spec?.template
        .metadata;
    const before = await webTemplate();
    const name = migrationName("c-plan");
    await applyMigration(name, {
      source: { mesh: "consul" },
      target: { mesh: "istio" },
      batches: [{ name: "all", namespaces: [moving] }],
      dryRun: true,
    });
    const planned = await waitForMigration(
      clients,
      name,
      (m) =>
        m.status?.phase === "Planning" && JSON.stringify(m.status).includes("ConsulIntentionSourceLeaves"),
      "Planning with the intention named",
    );
    const warnings = (
      planned.status as { warnings?: Array<{ code: string; namespace?: string; message: string }> }
    ).warnings;
    expect(warnings?.find((w) => w.code === "ConsulIntentionSourceLeaves")).toMatchObject({
      namespace: moving,
      message: expect.stringContaining(`ServiceIntentions ${staying}/ledger allows service web`),
    });
    expect(
      warnings?.find((w) => w.code === "ConsulStrictMutualTLS" && w.namespace === staying)?.message,
    ).toContain(`Namespace ${staying} stays in Consul`);
    expect(await webTemplate()).toEqual(before);
  });

  it("touches nothing while Consul's injector is down (its webhook fails closed), and goes on once it is back", async () => {
    const ns = await appNamespace("i2c-down", ON_ISTIO);
    await waitForAppsOn(clients, ns, "istio");
    const namespaceBefore = await namespaceMetadata(clients, ns);
    const templatesBefore = await templates(ns);
    const podsBefore = (await livePods(clients, ns)).map((p) => p.metadata?.uid).sort();
    await setInjectorUp(clients.kc, "consul", false, { timeoutMs: 120_000 });
    const name = migrationName("i2c-down");
    try {
      await applyMigration(name, {
        source: { mesh: "istio" },
        target: { mesh: "consul" },
        batches: [{ name: "all", namespaces: [ns] }],
      });
      const blocked = await waitForMigration(
        clients,
        name,
        (m) => condition(m, "Degraded")?.reason === "TargetControlPlaneNotReady",
        "Degraded TargetControlPlaneNotReady",
      );
      expect(condition(blocked, "Degraded")?.message).toContain(CONSUL_INJECTOR);
      expect(condition(blocked, "Ready")?.status).toBe("False");
      expect(await namespaceMetadata(clients, ns)).toEqual(namespaceBefore);
      expect(await templates(ns)).toEqual(templatesBefore);
      expect([...(await restartStamps(clients, ns)).values()].filter(Boolean)).toEqual([]);
      expect((await livePods(clients, ns)).map((p) => p.metadata?.uid).sort()).toEqual(podsBefore);
    } finally {
      await setInjectorUp(clients.kc, "consul", true, { timeoutMs: 180_000 });
    }
    await kubectlWaitReady(name, ROLLOUT_SECONDS);
    await waitForAppsOn(clients, ns, "consul");
  });

  it("keeps every pod on the source while Consul's injector process is down behind an available Deployment", async () => {
    const ns = await appNamespace("i2c-closed", { ...ON_ISTIO, deploymentOnly: true });
    await waitForAppsOn(clients, ns, "istio", 3);
    const podsBefore = (await livePods(clients, ns)).map((p) => p.metadata?.uid).sort();
    await setInjectorProcessDown(clients.kc, "consul", true);
    const name = migrationName("i2c-closed");
    try {
      await applyMigration(name, {
        source: { mesh: "istio" },
        target: { mesh: "consul" },
        batches: [{ name: "all", namespaces: [ns] }],
        strategy: { rolloutTimeout: "30s" },
      });
      const halted = await waitForMigration(
        clients,
        name,
        (m) => condition(m, "Degraded")?.reason === "RolloutTimeout",
        "Degraded RolloutTimeout",
      );
      expect(condition(halted, "Degraded")?.message).toContain("deployment/web did not finish rolling out");
      // The webhook failed closed: the new ReplicaSet's pods were refused, the old ones kept serving.
      const pods = await livePods(clients, ns);
      expect(pods.map((p) => p.metadata?.uid).sort()).toEqual(podsBefore);
      expect(pods.map(meshOf)).toEqual(["istio", "istio", "istio"]);
      const refused = await kubectl([
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        "reason=FailedCreate",
        "-o",
        "json",
      ]);
      expect(refused.stdout).toContain("consul-connect-injector");
    } finally {
      await setInjectorProcessDown(clients.kc, "consul", false);
    }
    // Once the injector answers, the rollout finishes and the migration resumes by itself.
    await kubectlWaitReady(name, ROLLOUT_SECONDS);
    await waitForAppsOn(clients, ns, "consul", 3);
  });
});
