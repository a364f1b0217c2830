// The ambient preflight in the plan a user reads: the plan CLI (planFromSnapshot, rendered as a
// table) and the operator (its informer caches, each object in its cache shape, as status.plan is
// planned) give the same findings from the same cluster, and a Blocking one blocks the plan until
// fixed or acknowledged.
import type * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { type MeshMigrationSpec, parseSpec } from "../../../src/api/schema.ts";
import type { ClusterSnapshot } from "../../../src/cli/cluster-reader.ts";
import { planFromSnapshot } from "../../../src/cli/plan-command.ts";
import { renderTable } from "../../../src/cli/render.ts";
import {
  podShape,
  policyShape,
  withoutManagedFields,
  workloadShape,
} from "../../../src/controller/cache-shapes.ts";
import { migrationFacts } from "../../../src/controller/cluster-facts.ts";
import { type Cache, type ClusterCaches, cachedReadings } from "../../../src/controller/reconciler.ts";
import { POLICY_RESOURCES, type PolicyObjects } from "../../../src/preflight/index.ts";
import { controlPlaneObjects } from "../../emulators/control-planes.ts";
import { servedPod, servedWorkload } from "../../support/served-objects.ts";
import { fixtureObjects, fixtureTemplate } from "../meshes/fixtures.ts";
import {
  envoyFilter,
  gateway,
  onlyGet,
  service,
  telemetry,
  virtualService,
  waypointRef,
} from "./ambient-builders.ts";

const HELLO = "istio-sidecar/hello.yaml.injected Deployment/hello";
const ISTIO_INJECTION = { "istio-injection": "enabled" };

function namespace(name: string, labels: Record<string, string> = {}): k8s.V1Namespace {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels }, status: { phase: "Active" } };
}

type Workload = k8s.V1Deployment | k8s.V1StatefulSet | k8s.V1DaemonSet;

/** shop moves to ambient, billing stays on sidecars; both run the real injected hello Deployment. */
function cluster(policies: PolicyObjects) {
  const hello = fixtureObjects(["Deployment"]).find((f) => f.id === HELLO)?.object;
  const workloads: Workload[] = [
    servedWorkload(hello, { namespace: "shop", index: 1 }),
    servedWorkload(hello, { namespace: "billing", index: 2 }),
    ...controlPlaneObjects([])
      .filter((o) => o.kind === "DaemonSet" || o.kind === "Deployment")
      .map((o, i) => servedWorkload(o, { namespace: o.metadata?.namespace ?? "", index: 10 + i })),
  ];
  const pods = ["shop", "billing"].map((ns, i) =>
    servedPod(fixtureTemplate(HELLO), { namespace: ns, index: i, ownerName: "hello" }),
  );
  const snapshot: ClusterSnapshot = {
    namespaces: [
      namespace("shop", ISTIO_INJECTION),
      namespace("billing", ISTIO_INJECTION),
      namespace("istio-system"),
    ],
    deployments: workloads.filter((w) => w.kind === "Deployment") as k8s.V1Deployment[],
    statefulSets: [],
    daemonSets: workloads.filter((w) => w.kind === "DaemonSet") as k8s.V1DaemonSet[],
    webhooks: [],
    policies,
    unreadablePolicies: [],
  };
  const byNamespace = new Map<string, k8s.V1Pod[]>();
  for (const pod of pods) byNamespace.set(pod.metadata?.namespace ?? "", [pod]);
  return { snapshot, pods: byNamespace };
}

function spec(extra: Record<string, unknown> = {}, target: Record<string, unknown> = {}): MeshMigrationSpec {
  const parsed = parseSpec({
    source: { mesh: "istio" },
    target: { mesh: "istio-ambient", ...target },
    batches: [{ name: "canary", namespaces: ["shop"] }],
    ...extra,
  });
  if (!parsed.ok) throw new Error(parsed.errors.join("\n"));
  return parsed.spec;
}

function fakeCache<T extends k8s.KubernetesObject>(objects: readonly T[]): Cache<T> {
  const inNamespace = (ns?: string) =>
    objects.filter((o) => ns === undefined || o.metadata?.namespace === ns);
  return {
    list: inNamespace,
    get: (name, ns) => inNamespace(ns).find((o) => o.metadata?.name === name),
  };
}

/** What the operator's informers hold for the same cluster: every object in its cache shape. */
function operatorCaches({ snapshot, pods }: ReturnType<typeof cluster>): ClusterCaches {
  const policies = Object.fromEntries(
    POLICY_RESOURCES.map((r) => [
      r.field,
      fakeCache(((snapshot.policies[r.field] ?? []) as k8s.KubernetesObject[]).map(policyShape(r.field))),
    ]),
  );
  return {
    migrations: fakeCache([]),
    namespaces: fakeCache(snapshot.namespaces.map(withoutManagedFields)),
    pods: fakeCache([...pods.values()].flat().map(podShape)),
    deployments: fakeCache(snapshot.deployments.map(workloadShape)),
    statefulSets: fakeCache(snapshot.statefulSets.map(workloadShape)),
    daemonSets: fakeCache(snapshot.daemonSets.map(workloadShape)),
    webhooks: fakeCache(snapshot.webhooks),
    policies,
  };
}

const POLICIES: PolicyObjects = {
  istioAuthorizationPolicies: [onlyGet("shop", "only-get", { selector: { matchLabels: { app: "hello" } } })],
  virtualServices: [
    virtualService("billing", "hello", {
      hosts: ["hello.shop.svc.cluster.local"],
      http: [{ name: "retry" }],
    }),
  ],
  envoyFilters: [
    envoyFilter("billing", "lua", {
      configPatches: [{ applyTo: "HTTP_FILTER", patch: { value: { inlineCode: "x".repeat(4000) } } }],
    }),
  ],
  telemetries: [telemetry("istio-system", "mesh-default", { tracing: [{ randomSamplingPercentage: 1 }] })],
  services: [service("shop", "hello")],
};

describe("the ambient preflight in the plan", () => {
  it("shows every finding in the plan CLI's output, and blocks on the L7 AuthorizationPolicy", () => {
    const { outline } = planFromSnapshot({ migration: "to-ambient", spec: spec(), ...cluster(POLICIES) });
    expect(outline.blockers).toEqual([]);
    expect(outline.warnings.map((w) => [w.severity, w.code, w.namespace])).toEqual([
      ["Blocking", "IstioAmbientL7AuthorizationPolicy", "shop"],
      ["Warning", "IstioAmbientTelemetry", undefined],
      ["Warning", "IstioAmbientVirtualService", "shop"],
      ["Warning", "IstioSidecarWithoutHBONE", undefined],
    ]);
    expect(outline.blocked).toBe(true);
    const table = renderTable(outline, { migration: "to-ambient", spec: spec() });
    expect(table).toContain("BLOCKING IstioAmbientL7AuthorizationPolicy [shop]");
    expect(table).toContain("WARNING  IstioSidecarWithoutHBONE");
    expect(table).toContain("Result: BLOCKED");
  });

  it("gives the operator's status.plan the same findings, from objects cached in their shapes", () => {
    const read = cluster(POLICIES);
    const fromCli = planFromSnapshot({ migration: "to-ambient", spec: spec(), ...read }).outline.warnings;
    const fromCaches = migrationFacts(spec(), cachedReadings(operatorCaches(read))).warnings;
    expect(fromCaches).toEqual(fromCli);
    // The EnvoyFilter's payload is not cached, only what the preflight reads of it.
    const cached = policyShape("envoyFilters")(POLICIES.envoyFilters?.[0] as k8s.KubernetesObject);
    expect(JSON.stringify(cached)).not.toContain("inlineCode");
    expect(cached).toMatchObject({ spec: { configPatches: [{ applyTo: "HTTP_FILTER" }] } });
  });

  it("plans the move once acknowledged, or once the policy is attached to the waypoint the migration creates", () => {
    const acknowledged = planFromSnapshot({
      migration: "to-ambient",
      spec: spec({ strategy: { blockOnWarnings: false } }),
      ...cluster(POLICIES),
    }).outline;
    expect(acknowledged.blocked).toBe(false);

    const converted: PolicyObjects = {
      ...POLICIES,
      istioAuthorizationPolicies: [onlyGet("shop", "only-get", waypointRef("waypoint"))],
      gateways: [gateway("istio-ingress", "public", "istio")],
    };
    const withWaypoint = planFromSnapshot({
      migration: "to-ambient",
      spec: spec({}, { waypoint: { name: "waypoint", create: true } }),
      ...cluster(converted),
    }).outline;
    expect(withWaypoint.blocked).toBe(false);
    expect(withWaypoint.warnings.map((w) => w.code)).toEqual([
      "IstioAmbientVirtualService",
      "IstioSidecarWithoutHBONE",
    ]);
  });
});
