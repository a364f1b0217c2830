// No pod is ever meshed twice: the operator's ValidatingAdmissionPolicy refuses
// such pods at admission, and pods that become double-meshed anyway (istio-cni
// capturing running linkerd-proxy pods) are detected from pod facts, halting the
// migration and naming them.
import type * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppNamespace, waitForAppsOn } from "../support/apps.ts";
import { installCrd } from "../support/crd.ts";
import { e2eClients, uniqueName } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import {
  applyMigration,
  condition,
  deleteMigration,
  eventsOf,
  kubectlWaitReady,
  waitForMigration,
} from "../support/migrations.ts";
import { type OperatorProcess, startOperator } from "../support/operator.ts";
import { waitFor } from "../support/wait.ts";

const clients = e2eClients();
const createdNamespaces: string[] = [];
const createdMigrations: string[] = [];
let operator: OperatorProcess;
let namespace: string;
let migration: string;

function pod(
  name: string,
  extra: Partial<k8s.V1Pod["spec"]> = {},
  annotations: Record<string, string> = {},
): k8s.V1Pod {
  return {
    metadata: { name, annotations },
    spec: { containers: [{ name: "app", image: "registry.example/app:1" }], ...extra },
  };
}

async function createError(namespace: string, body: k8s.V1Pod): Promise<string> {
  try {
    await clients.core.createNamespacedPod({ namespace, body });
  } catch (error) {
    return String((error as { body?: string }).body ?? error);
  }
  throw new Error(`pod ${body.metadata?.name} was admitted`);
}

beforeAll(async () => {
  await installCrd();
  operator = await startOperator();
  namespace = uniqueName("guard");
  createdNamespaces.push(namespace);
  await createAppNamespace(clients, namespace, {
    labels: { "istio-injection": "enabled" },
    deploymentOnly: true,
  });
  await waitForAppsOn(clients, namespace, "istio", 3);
  migration = uniqueName("guarded");
  createdMigrations.push(migration);
  await applyMigration(migration, {
    source: { mesh: "istio" },
    target: { mesh: "linkerd" },
    batches: [{ name: "all", namespaces: [namespace] }],
  });
  await kubectlWaitReady(migration);
  await waitForAppsOn(clients, namespace, "linkerd", 3);
});

afterAll(async () => {
  for (const name of createdMigrations) await deleteMigration(name);
  await operator?.stop();
  for (const name of createdNamespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
});

describe("double-mesh guard", () => {
  it("halts, without undoing it, when a user re-adds the source mesh's label to a migrated namespace", async () => {
    await kubectl(["label", "namespace", namespace, "istio-injection=enabled"]);
    try {
      const halted = await waitForMigration(
        clients,
        migration,
        (m) => condition(m, "Degraded")?.reason === "ConflictingMeshMarkers",
        "Degraded ConflictingMeshMarkers",
      );
      expect(halted.status?.phase).toBe("Failed");
      expect(condition(halted, "Degraded")?.message).toContain("istio-injection");
      const labels = (await clients.core.readNamespace({ name: namespace })).metadata?.labels ?? {};
      expect(labels["istio-injection"]).toBe("enabled");
    } finally {
      await kubectl(["label", "namespace", namespace, "istio-injection-"]);
    }
    await kubectlWaitReady(migration);
  });

  it("is installed by the operator as a ValidatingAdmissionPolicy with its binding", async () => {
    const policy = await kubectl([
      "get",
      "validatingadmissionpolicy",
      "meshmigration-double-mesh-guard",
      "-o",
      "json",
    ]);
    expect(policy.code).toBe(0);
    const binding = await kubectl([
      "get",
      "validatingadmissionpolicybinding",
      "meshmigration-double-mesh-guard",
      "-o",
      "json",
    ]);
    expect(JSON.parse(binding.stdout).spec.validationActions).toEqual(["Deny"]);
  });

  it("puts the policy back when someone deletes it", async () => {
    const deleted = await kubectl([
      "delete",
      "validatingadmissionpolicybinding",
      "meshmigration-double-mesh-guard",
    ]);
    expect(deleted.code, deleted.stderr).toBe(0);
    await waitFor(
      async () =>
        (await kubectl(["get", "validatingadmissionpolicybinding", "meshmigration-double-mesh-guard"]))
          .code === 0,
      { description: "the binding to be re-created" },
    );
  });

  it("puts the binding's Deny back when someone weakens it to Warn and keeps the annotation", async () => {
    const actions = async () =>
      (
        await kubectl([
          "get",
          "validatingadmissionpolicybinding",
          "meshmigration-double-mesh-guard",
          "-o",
          "jsonpath={.spec.validationActions}",
        ])
      ).stdout;
    await waitFor(async () => (await actions()).includes("Deny"), { description: "the binding to exist" });
    const weakened = await kubectl([
      "patch",
      "validatingadmissionpolicybinding",
      "meshmigration-double-mesh-guard",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { validationActions: ["Warn"] } }),
    ]);
    expect(weakened.code, weakened.stderr).toBe(0);
    await waitFor(async () => (await actions()) === '["Deny"]', {
      description: "validationActions to be Deny again",
    });
  });

  it("refuses a pod that carries both istio-proxy and linkerd-proxy, naming the meshes and the migration", async () => {
    const message = await waitFor(
      async () =>
        createError(
          namespace,
          pod(`both-${Date.now()}`, {
            initContainers: [
              { name: "istio-proxy", image: "proxyv2", restartPolicy: "Always" },
              { name: "linkerd-proxy", image: "proxy", restartPolicy: "Always" },
            ],
          }),
        ).catch(() => undefined),
      { description: "the guard to refuse a two-proxy pod" },
    );
    expect(message).toContain("istio-proxy (Istio) and linkerd-proxy (Linkerd)");
    expect(message).toContain(migration);
  });

  it("refuses a pod-level opt-in to Istio ambient on a linkerd-proxy pod", async () => {
    const message = await createError(namespace, {
      metadata: { name: "ambient-opt-in", labels: { "istio.io/dataplane-mode": "ambient" } },
      spec: { containers: [{ name: "app", image: "registry.example/app:1" }] },
    });
    expect(message).toContain("enrolled in Istio ambient");
  });

  it("keeps istio-cni from capturing linkerd-proxy pods when a user enrols a migrated namespace in ambient", async () => {
    await kubectl(["label", "namespace", namespace, "istio.io/dataplane-mode=ambient"]);
    try {
      const halted = await waitForMigration(
        clients,
        migration,
        (m) => condition(m, "Degraded")?.reason === "ConflictingMeshMarkers",
        "Degraded ConflictingMeshMarkers",
      );
      expect(condition(halted, "Degraded")?.message).toContain("istio-ambient");
      // istio-cni's capture mark is a pod update, and the guard refuses it: the pods stay in one mesh.
      const refused = await createError(
        namespace,
        pod("new-linkerd", {}, { "linkerd.io/inject": "enabled" }),
      );
      expect(refused).toContain("enrolled in Istio ambient");
      const pods = await clients.core.listNamespacedPod({ namespace });
      for (const p of pods.items) {
        expect(p.metadata?.annotations?.["ambient.istio.io/redirection"]).toBeUndefined();
      }
      expect(condition(halted, "DoubleMeshDetected")?.status).toBe("False");
    } finally {
      await kubectl(["label", "namespace", namespace, "istio.io/dataplane-mode-"]);
    }
    await kubectlWaitReady(migration);
  });

  it("detects a double-meshed pod in a namespace it will move, halts, and names the pod", async () => {
    // A namespace the migration does not own yet is not under the guard: a pod with both proxies
    // can exist there. The migration must see it before it moves anything.
    const later = uniqueName("later");
    createdNamespaces.push(later);
    await clients.core.createNamespace({ body: { metadata: { name: later } } });
    await clients.core.createNamespacedPod({
      namespace: later,
      body: pod("two-proxies", {
        initContainers: [
          { name: "istio-proxy", image: "proxyv2", restartPolicy: "Always" },
          { name: "linkerd-proxy", image: "proxy", restartPolicy: "Always" },
        ],
      }),
    });
    const name = uniqueName("detect");
    createdMigrations.push(name);
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [later] }],
    });
    const halted = await waitForMigration(
      clients,
      name,
      (m) => condition(m, "DoubleMeshDetected")?.status === "True",
      "DoubleMeshDetected",
    );
    expect(halted.status?.phase).toBe("Failed");
    expect(halted.status?.doubleMeshedPods).toBe(1);
    expect(condition(halted, "DoubleMeshDetected")?.message).toContain(`${later}/two-proxies`);
    expect(halted.status?.namespaces?.[0]?.doubleMeshedPods).toEqual(["two-proxies"]);
    expect((await eventsOf(name)).map((e) => e.reason)).toContain("DoubleMeshDetected");
    // Halted: the namespace was not touched.
    const ns = await clients.core.readNamespace({ name: later });
    expect(ns.metadata?.annotations?.["meshmigration.io/owner"]).toBeUndefined();

    await clients.core.deleteNamespacedPod({ name: "two-proxies", namespace: later, gracePeriodSeconds: 0 });
    await kubectlWaitReady(name);
  });
});
