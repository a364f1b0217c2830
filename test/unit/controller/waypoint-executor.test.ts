// The waypoint writes as the executor sends them: a create (never an apply that would adopt a
// user's Gateway), a label patch of its own, and a delete of exactly the Gateway read as ours.
import type * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { type ExecutorClients, executeAction, StaleReadError } from "../../../src/controller/executor.ts";

const EVENT = { type: "Normal" as const, reason: "R", message: "m" };

function clients(fail?: { code: number }) {
  const calls: Array<{ method: string; request: unknown }> = [];
  const record = (method: string) => async (request: unknown) => {
    calls.push({ method, request });
    if (fail) throw Object.assign(new Error("refused"), fail);
    return {};
  };
  const fake = {
    core: { patchNamespace: record("patchNamespace") } as unknown as k8s.CoreV1Api,
    apps: {} as k8s.AppsV1Api,
    custom: {
      createNamespacedCustomObject: record("create"),
      deleteNamespacedCustomObject: record("delete"),
    } as unknown as k8s.CustomObjectsApi,
  } satisfies ExecutorClients;
  return { fake, calls };
}

describe("executing waypoint actions", () => {
  it("creates the Gateway with a create call under the operator's field manager", async () => {
    const { fake, calls } = clients();
    await executeAction(fake, {
      type: "CreateWaypoint",
      namespace: "shop",
      name: "waypoint",
      owner: "move",
      event: EVENT,
    });
    expect(calls).toEqual([
      {
        method: "create",
        request: expect.objectContaining({
          group: "gateway.networking.k8s.io",
          version: "v1",
          plural: "gateways",
          namespace: "shop",
          fieldManager: "mesh-migration-operator",
          body: expect.objectContaining({
            kind: "Gateway",
            spec: expect.objectContaining({ gatewayClassName: "istio-waypoint" }),
          }),
        }),
      },
    ]);
  });

  it("a Gateway made meanwhile is a conflict to re-plan from, never adopted", async () => {
    const { fake } = clients({ code: 409 });
    await expect(
      executeAction(fake, {
        type: "CreateWaypoint",
        namespace: "shop",
        name: "waypoint",
        owner: "move",
        event: EVENT,
      }),
    ).rejects.toBeInstanceOf(StaleReadError);
  });

  it("patches only the use-waypoint label, with the resourceVersion read", async () => {
    const { fake, calls } = clients();
    await executeAction(fake, {
      type: "UseWaypoint",
      namespace: "shop",
      resourceVersion: "12",
      change: {
        set: { labels: { "istio.io/use-waypoint": "waypoint" }, annotations: {} },
        remove: { labels: [], annotations: [] },
      },
      event: EVENT,
    });
    expect(calls[0]?.request).toMatchObject({
      name: "shop",
      body: { metadata: { resourceVersion: "12", labels: { "istio.io/use-waypoint": "waypoint" } } },
    });
  });

  it("deletes with uid and resourceVersion preconditions; one already gone is done", async () => {
    const action = {
      type: "DeleteWaypoint" as const,
      namespace: "shop",
      name: "waypoint",
      uid: "u-1",
      resourceVersion: "77",
      event: EVENT,
    };
    const { fake, calls } = clients();
    await executeAction(fake, action);
    expect(calls[0]?.request).toMatchObject({
      name: "waypoint",
      namespace: "shop",
      body: { preconditions: { uid: "u-1", resourceVersion: "77" } },
    });
    await expect(executeAction(clients({ code: 404 }).fake, action)).resolves.toBeUndefined();
    await expect(executeAction(clients({ code: 409 }).fake, action)).rejects.toBeInstanceOf(StaleReadError);
  });
});

describe("the Gateway write limit", () => {
  it("lets the operator create only its marked waypoint and delete only a Gateway it marked", async () => {
    const { writeLimits, DEPLOYED_IDENTITY } = await import("../../../src/install/write-limits.ts");
    const policy = (
      writeLimits(DEPLOYED_IDENTITY) as Array<{
        kind: string;
        metadata: { name: string };
        spec: k8s.V1ValidatingAdmissionPolicySpec;
      }>
    ).find((o) => o.kind === "ValidatingAdmissionPolicy" && o.metadata.name.endsWith("-gateways"));
    expect(policy?.spec.matchConstraints?.resourceRules?.[0]?.operations).toEqual(["CREATE", "DELETE"]);
    const [create, remove] = policy?.spec.validations ?? [];
    expect(create?.expression).toContain("object.spec.gatewayClassName == 'istio-waypoint'");
    expect(create?.expression).toContain("'meshmigration.io/owner' in object.metadata.annotations");
    expect(remove?.expression).toContain("'meshmigration.io/owner' in oldObject.metadata.annotations");
  });

  it("the RBAC grants on Gateways are exactly list, watch, create and delete", async () => {
    const { readFileSync } = await import("node:fs");
    const { parseAllDocuments } = await import("yaml");
    const docs = parseAllDocuments(readFileSync("deploy/cluster-role.yaml", "utf8")).map((d) => d.toJS());
    const rules = docs.flatMap(
      (d: { rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }) => d?.rules ?? [],
    );
    const verbs = rules
      .filter((r) => r.apiGroups.includes("gateway.networking.k8s.io") && r.resources.includes("gateways"))
      .flatMap((r) => r.verbs)
      .sort();
    expect(verbs).toEqual(["create", "delete", "list", "watch"]);
  });
});
