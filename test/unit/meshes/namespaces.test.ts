// Namespace enrollment per driver, the namespace switch, and control-plane requirements.
import { describe, expect, it } from "vitest";
import { type Markers, MESH_NAMES, type MeshName, type MeshRef } from "../../../src/meshes/driver.ts";
import { istioDriver, namespaceRevision } from "../../../src/meshes/istio.ts";
import { istioAmbientDriver } from "../../../src/meshes/istio-ambient.ts";
import { linkerdDriver } from "../../../src/meshes/linkerd.ts";
import { applyChange, emptyMarkers } from "../../../src/meshes/markers.ts";
import { noneDriver } from "../../../src/meshes/none.ts";
import {
  allNamespaceMarkerKeys,
  driverFor,
  MESH_DRIVERS,
  meshRunsOwnPod,
  namespaceMeshes,
  namespaceOnMesh,
  namespaceSwitch,
  withComparableRevisions,
} from "../../../src/meshes/registry.ts";
import { fixtureNamespaces } from "./fixtures.ts";

function ns(labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Markers {
  return { labels, annotations };
}

describe("istio", () => {
  it("enrolls with istio-injection=enabled and drops a revision label, which it would beat", () => {
    expect(istioDriver.enroll({ mesh: "istio" })).toEqual({
      set: ns({ "istio-injection": "enabled" }),
      remove: { labels: ["istio.io/rev"], annotations: [] },
    });
  });

  it("enrolls a revision with istio.io/rev and drops istio-injection, which would beat it", () => {
    const change = istioDriver.enroll({ mesh: "istio", revision: "1-24" });
    expect(change).toEqual({
      set: ns({ "istio.io/rev": "1-24" }),
      remove: { labels: ["istio-injection"], annotations: [] },
    });
    const after = applyChange(ns({ "istio-injection": "enabled", team: "shop" }), change);
    expect(after).toEqual(ns({ "istio.io/rev": "1-24", team: "shop" }));
    expect(istioDriver.namespaceEnrolled(after, { mesh: "istio", revision: "1-24" })).toBe(true);
  });

  it("reads the effective revision: istio-injection=enabled means default and beats istio.io/rev", () => {
    const both = ns({ "istio-injection": "enabled", "istio.io/rev": "canary" });
    expect(namespaceRevision(both)).toBe("default");
    expect(istioDriver.namespaceEnrolled(both)).toBe(true);
    expect(istioDriver.namespaceEnrolled(both, { mesh: "istio", revision: "default" })).toBe(true);
    expect(istioDriver.namespaceEnrolled(both, { mesh: "istio", revision: "canary" })).toBe(false);
  });

  it("matches any revision when the ref names none", () => {
    expect(istioDriver.namespaceEnrolled(ns({ "istio.io/rev": "canary" }), { mesh: "istio" })).toBe(true);
    expect(istioDriver.namespaceEnrolled(ns({ "istio.io/rev": "canary" }))).toBe(true);
  });

  it("is not enrolled by istio-injection=disabled, even next to a revision label", () => {
    // The revision webhooks require istio-injection to be absent.
    expect(istioDriver.namespaceEnrolled(ns({ "istio-injection": "disabled" }))).toBe(false);
    expect(istioDriver.namespaceEnrolled(ns({ "istio-injection": "disabled", "istio.io/rev": "test" }))).toBe(
      false,
    );
    expect(istioDriver.namespaceEnrolled(ns({ "istio.io/rev": "" }))).toBe(false);
    expect(istioDriver.namespaceEnrolled(ns())).toBe(false);
  });

  it("unenrolls by removing both labels, only those present", () => {
    const current = ns({ "istio-injection": "enabled", "istio.io/rev": "canary", team: "shop" });
    expect(istioDriver.unenroll({ mesh: "istio" }, current).remove.labels.sort()).toEqual([
      "istio-injection",
      "istio.io/rev",
    ]);
    expect(
      istioDriver.unenroll({ mesh: "istio", revision: "canary" }, ns({ "istio.io/rev": "canary" })),
    ).toEqual({
      set: emptyMarkers(),
      remove: { labels: ["istio.io/rev"], annotations: [] },
    });
  });
});

describe("istio-ambient", () => {
  it("enrolls with istio.io/dataplane-mode=ambient and nothing else", () => {
    expect(istioAmbientDriver.enroll({ mesh: "istio-ambient" })).toEqual({
      set: ns({ "istio.io/dataplane-mode": "ambient" }),
      remove: { labels: [], annotations: [] },
    });
  });

  it("is enrolled only by the ambient value", () => {
    expect(istioAmbientDriver.namespaceEnrolled(ns({ "istio.io/dataplane-mode": "ambient" }))).toBe(true);
    expect(istioAmbientDriver.namespaceEnrolled(ns({ "istio.io/dataplane-mode": "none" }))).toBe(false);
    expect(istioAmbientDriver.namespaceEnrolled(ns({ "istio.io/use-waypoint": "waypoint" }))).toBe(false);
  });

  it("unenrolls the dataplane mode and leaves use-waypoint (recorded, never ours to set)", () => {
    const current = ns({ "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" });
    const after = applyChange(current, istioAmbientDriver.unenroll({ mesh: "istio-ambient" }, current));
    expect(after).toEqual(ns({ "istio.io/use-waypoint": "waypoint" }));
    expect(istioAmbientDriver.namespaceLabelKeys).toContain("istio.io/use-waypoint");
  });
});

describe("linkerd", () => {
  it("enrolls with the linkerd.io/inject annotation", () => {
    expect(linkerdDriver.enroll({ mesh: "linkerd" })).toEqual({
      set: ns({}, { "linkerd.io/inject": "enabled" }),
      remove: { labels: [], annotations: [] },
    });
  });

  it("is enrolled by enabled or ingress, unless the namespace turns Linkerd's webhooks off", () => {
    expect(linkerdDriver.namespaceEnrolled(ns({}, { "linkerd.io/inject": "enabled" }))).toBe(true);
    expect(linkerdDriver.namespaceEnrolled(ns({}, { "linkerd.io/inject": "ingress" }))).toBe(true);
    expect(linkerdDriver.namespaceEnrolled(ns({}, { "linkerd.io/inject": "disabled" }))).toBe(false);
    // A label, not an annotation, does not enroll.
    expect(linkerdDriver.namespaceEnrolled(ns({ "linkerd.io/inject": "enabled" }))).toBe(false);
    const webhooksOff = ns(
      { "config.linkerd.io/admission-webhooks": "disabled" },
      { "linkerd.io/inject": "enabled" },
    );
    expect(linkerdDriver.namespaceEnrolled(webhooksOff)).toBe(false);
  });

  it("unenrolls the inject annotation and keeps the policy annotation and webhook label", () => {
    const current = ns(
      { "config.linkerd.io/admission-webhooks": "enabled" },
      { "linkerd.io/inject": "enabled", "config.linkerd.io/default-inbound-policy": "all-unauthenticated" },
    );
    const after = applyChange(current, linkerdDriver.unenroll({ mesh: "linkerd" }, current));
    expect(after).toEqual(
      ns(
        { "config.linkerd.io/admission-webhooks": "enabled" },
        { "config.linkerd.io/default-inbound-policy": "all-unauthenticated" },
      ),
    );
  });
});

describe("none", () => {
  it("changes nothing and leaves membership questions to the registry", () => {
    expect(applyChange(ns({ a: "b" }), noneDriver.enroll({ mesh: "none" }))).toEqual(ns({ a: "b" }));
    expect(noneDriver.unenroll({ mesh: "none" }, ns({ "istio-injection": "enabled" })).remove).toEqual({
      labels: [],
      annotations: [],
    });
    expect(noneDriver.isMember({ spec: { containers: [{ name: "app" }] } })).toBe(false);
    expect(noneDriver.controlPlane({ mesh: "none" })).toEqual([]);
    expect(namespaceOnMesh(ns(), { mesh: "none" })).toBe(true);
    expect(namespaceOnMesh(ns({ "istio-injection": "disabled" }), { mesh: "none" })).toBe(true);
    expect(namespaceOnMesh(ns({}, { "linkerd.io/inject": "enabled" }), { mesh: "none" })).toBe(false);
  });
});

describe("fixture namespaces", () => {
  const EXPECTED: Record<string, { meshes: MeshName[]; revision?: string }> = {
    "istio-ambient/analyzers_injection.yaml Namespace/default": { meshes: ["istio"], revision: "default" },
    "istio-ambient/analyzers_injection.yaml Namespace/ambient": { meshes: ["istio-ambient"] },
    "istio-ambient/analyzers_injection.yaml Namespace/foo": { meshes: [] },
    "istio-ambient/analyzers_injection.yaml Namespace/bar": { meshes: [] },
    "istio-ambient/analyzers_injection.yaml Namespace/canary-test": { meshes: ["istio"], revision: "canary" },
    "istio-ambient/analyzers_injection.yaml Namespace/pidgeon-test": {
      meshes: ["istio"],
      revision: "pidgeon",
    },
    "istio-ambient/analyzers_injection.yaml Namespace/busted": { meshes: ["istio"], revision: "default" },
    "istio-ambient/analyzers_injection.yaml Namespace/multi-ns-1": { meshes: ["istio"], revision: "default" },
    "istio-ambient/analyzers_injection.yaml Namespace/multi-ns-2": {
      meshes: ["istio", "istio-ambient"],
      revision: "default",
    },
    "istio-ambient/analyzers_injection.yaml Namespace/multi-ns-3": {
      meshes: ["istio", "istio-ambient"],
      revision: "test",
    },
    "istio-ambient/analyzers_injection.yaml Namespace/not-conflict-ns-1": { meshes: ["istio-ambient"] },
    "istio-ambient/analyzers_injection.yaml Namespace/not-conflict-ns-2": { meshes: [] },
    "istio-ambient/analyzers_sidecar-default-selector.yaml Namespace/ns1": { meshes: [] },
    "istio-ambient/analyzers_sidecar-default-selector.yaml Namespace/ns2": { meshes: [] },
    "istio-ambient/analyzers_sidecar-default-selector.yaml Namespace/ns-ambient": {
      meshes: ["istio-ambient"],
    },
    "istio-ambient/analyzers_sidecar-default-selector.yaml Namespace/ns-not-ambient": {
      meshes: ["istio", "istio-ambient"],
      revision: "default",
    },
    "istio-ambient/analyzers_sidecar-default-selector.yaml Namespace/ns-not-ambient-rev": {
      meshes: ["istio", "istio-ambient"],
      revision: "canary",
    },
  };
  const namespaces = fixtureNamespaces();

  it("covers every Namespace in the fixtures", () => {
    expect(namespaces.map((entry) => entry.id).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(namespaces.map((entry) => [entry.id, entry.markers] as const))("%s", (id, markers) => {
    expect(namespaceMeshes(markers)).toEqual(EXPECTED[id]?.meshes);
    expect(namespaceRevision(markers)).toBe(EXPECTED[id]?.revision);
  });
});

describe("allNamespaceMarkerKeys", () => {
  it("is the union of every driver's keys", () => {
    const keys = allNamespaceMarkerKeys();
    expect(keys.labels.sort()).toEqual(
      [
        "config.linkerd.io/admission-webhooks",
        "consul.hashicorp.com/consul-dns",
        "consul.hashicorp.com/transparent-proxy",
        "istio-injection",
        "istio.io/dataplane-mode",
        "istio.io/rev",
        "istio.io/use-waypoint",
      ].sort(),
    );
    expect(keys.annotations.sort()).toEqual([
      "config.linkerd.io/default-inbound-policy",
      "linkerd.io/inject",
    ]);
  });

  it("covers every key any driver sets or removes on enroll", () => {
    const keys = allNamespaceMarkerKeys();
    for (const mesh of MESH_NAMES) {
      for (const ref of [{ mesh }, { mesh, revision: "1-24" }] as MeshRef[]) {
        const change = driverFor(mesh).enroll(ref);
        expect(keys.labels).toEqual(
          expect.arrayContaining([...Object.keys(change.set.labels), ...change.remove.labels]),
        );
        expect(keys.annotations).toEqual(
          expect.arrayContaining([...Object.keys(change.set.annotations), ...change.remove.annotations]),
        );
      }
    }
  });
});

describe("namespaceSwitch", () => {
  const REFS: MeshRef[] = [
    { mesh: "istio" },
    { mesh: "istio", revision: "1-24" },
    { mesh: "istio-ambient" },
    { mesh: "linkerd" },
    { mesh: "none" },
  ];
  const PAIRS = REFS.flatMap((source) =>
    REFS.filter((target) => target !== source).map((target) => [source, target]),
  );

  it.each(PAIRS)(
    "%o → %o leaves the namespace on the target only, other keys untouched",
    (source, target) => {
      const enrolled = applyChange(
        ns({ team: "shop" }, { note: "keep" }),
        driverFor(source.mesh).enroll(source),
      );
      const change = namespaceSwitch(source, target, enrolled);
      const after = applyChange(enrolled, change);
      expect(namespaceOnMesh(after, target)).toBe(true);
      expect(namespaceMeshes(after)).toEqual(target.mesh === "none" ? [] : [target.mesh]);
      expect(after.labels.team).toBe("shop");
      expect(after.annotations.note).toBe("keep");
      // Removals name only keys the namespace has (a JSON Patch remove of a missing key fails).
      for (const key of change.remove.labels) expect(enrolled.labels).toHaveProperty([key]);
      for (const key of change.remove.annotations) expect(enrolled.annotations).toHaveProperty([key]);
    },
  );

  it("moves between Istio revisions in one label change", () => {
    expect(
      namespaceSwitch(
        { mesh: "istio", revision: "1-23" },
        { mesh: "istio", revision: "1-24" },
        ns({ "istio.io/rev": "1-23" }),
      ),
    ).toEqual({ set: ns({ "istio.io/rev": "1-24" }), remove: { labels: [], annotations: [] } });
  });

  it("also clears a third mesh still enrolling the namespace", () => {
    const current = ns({ "istio.io/dataplane-mode": "ambient" }, { "linkerd.io/inject": "enabled" });
    const after = applyChange(current, namespaceSwitch({ mesh: "linkerd" }, { mesh: "istio" }, current));
    expect(after).toEqual(ns({ "istio-injection": "enabled" }));
  });
});

describe("control plane", () => {
  const names = (ref: MeshRef) =>
    driverFor(ref.mesh)
      .controlPlane(ref)
      .map((r) => `${r.kind} ${r.namespace ?? "-"} ${r.names.join("|")}`);

  it("istio: istiod and its injector webhook, per revision", () => {
    expect(names({ mesh: "istio" })).toEqual([
      "Deployment istio-system istiod",
      "MutatingWebhookConfiguration - istio-sidecar-injector|istio-revision-tag-default",
    ]);
    expect(names({ mesh: "istio", revision: "1-24" })).toEqual([
      "Deployment istio-system istiod-1-24",
      "MutatingWebhookConfiguration - istio-sidecar-injector-1-24|istio-revision-tag-1-24",
    ]);
  });

  it("istio-ambient: the ztunnel and istio-cni-node DaemonSets", () => {
    expect(names({ mesh: "istio-ambient" })).toEqual([
      "DaemonSet istio-system ztunnel",
      "DaemonSet istio-system istio-cni-node",
    ]);
  });

  it("linkerd: three Deployments and the injector webhook", () => {
    expect(names({ mesh: "linkerd" })).toEqual([
      "Deployment linkerd linkerd-destination",
      "Deployment linkerd linkerd-identity",
      "Deployment linkerd linkerd-proxy-injector",
      "MutatingWebhookConfiguration - linkerd-proxy-injector-webhook-config",
    ]);
  });

  it("every requirement tells the user what to do", () => {
    for (const driver of Object.values(MESH_DRIVERS)) {
      for (const requirement of driver.controlPlane({ mesh: driver.name }))
        expect(requirement.hint).not.toBe("");
    }
  });
});

describe("restarts", () => {
  it.each([
    ["istio", true, true],
    ["istio-ambient", false, false],
    ["linkerd", true, true],
    ["none", false, false],
  ] as const)("%s: join %s, leave %s", (mesh, join, leave) => {
    expect(driverFor(mesh).joinRequiresRestart).toBe(join);
    expect(driverFor(mesh).leaveRequiresRestart).toBe(leave);
  });
});

describe("withComparableRevisions", () => {
  it("reads a revision-less side as the default revision between two revisions of one mesh", () => {
    // Found by the simulation suite: "istio" read as any revision counted canary pods as still on the source.
    expect(
      withComparableRevisions({ source: { mesh: "istio" }, target: { mesh: "istio", revision: "canary" } }),
    ).toEqual({
      source: { mesh: "istio", revision: "default" },
      target: { mesh: "istio", revision: "canary" },
    });
    expect(
      withComparableRevisions({ source: { mesh: "istio", revision: "canary" }, target: { mesh: "istio" } })
        .target,
    ).toEqual({ mesh: "istio", revision: "default" });
  });

  it("leaves every other pair as written", () => {
    const pairs = [
      { source: { mesh: "istio" }, target: { mesh: "linkerd" } },
      { source: { mesh: "istio", revision: "a" }, target: { mesh: "istio", revision: "b" } },
      { source: { mesh: "linkerd" }, target: { mesh: "istio", revision: "b" } },
    ] as const;
    for (const pair of pairs) expect(withComparableRevisions(pair)).toBe(pair);
  });
});

describe("pods a mesh runs itself", () => {
  it("istiod's gateways and waypoints are the mesh's, never a migration's to move or count", () => {
    expect(meshRunsOwnPod({ "gateway.istio.io/managed": "istio.io-mesh-controller" })).toBe(true);
    expect(meshRunsOwnPod({ app: "web", "sidecar.istio.io/inject": "false" })).toBe(false);
  });
});
