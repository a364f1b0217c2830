// The consul driver, read against consul/FACTS.md (each case names the fact) and the two upstream
// Deployments in the fixtures, which opt in by annotation and are not injected.
import { describe, expect, it } from "vitest";
import { guardPolicy } from "../../../src/controller/guard.ts";
import {
  CONNECT_INJECT_ANNOTATION,
  consulDriver,
  isConsulOwnPod,
  parseConnectInject,
} from "../../../src/meshes/consul.ts";
import type { Markers, PodFacts } from "../../../src/meshes/driver.ts";
import { applyChange, hasChanges, markersOf } from "../../../src/meshes/markers.ts";
import {
  foreignMeshesOfPod,
  isDoubleMeshed,
  meshesOfPod,
  meshRunsOwnPod,
  namespaceMeshes,
  namespaceSwitch,
  podOnNoMesh,
  rewriteTemplateOptIns,
} from "../../../src/meshes/registry.ts";
import { chartFlags } from "../../emulators/consul-injector.ts";
import { fixtureTemplate } from "./fixtures.ts";

const STATUS = "consul.hashicorp.com/connect-inject-status";

interface PodParts {
  containers?: ReadonlyArray<{ name: string }>;
  initContainers?: ReadonlyArray<{ name: string; restartPolicy?: string }>;
  labels?: Readonly<Record<string, string>>;
  annotations?: Readonly<Record<string, string>>;
}

function podOf(parts: PodParts): PodFacts {
  return {
    metadata: {
      name: "web-1",
      namespace: "shop",
      labels: { ...parts.labels },
      annotations: { ...parts.annotations },
    },
    spec: {
      containers: [{ name: "app" }, ...(parts.containers ?? [])],
      initContainers: [...(parts.initContainers ?? [])],
    },
  };
}

const injectedMarker = { labels: { [STATUS]: "injected" }, annotations: { [STATUS]: "injected" } };

function tpl(annotations: Record<string, string> = {}, labels: Record<string, string> = {}): Markers {
  return { labels: { app: "web", ...labels }, annotations: { owner: "team", ...annotations } };
}

describe("membership from pod facts", () => {
  it.each([
    // Injected containers: with Helm's lifecycle default the sidecar is containers[0].
    [
      "Helm defaults",
      {
        ...injectedMarker,
        containers: [{ name: "consul-dataplane" }],
        initContainers: [{ name: "consul-connect-inject-init" }],
      },
    ],
    // Native sidecar mode: consul-dataplane in initContainers, restartPolicy Always, after the init.
    [
      "native mode",
      {
        ...injectedMarker,
        initContainers: [
          { name: "consul-connect-inject-init" },
          { name: "consul-dataplane", restartPolicy: "Always" },
        ],
      },
    ],
    // Injected containers: one consul-dataplane-<service> per service of a multi-port pod.
    [
      "multi-port",
      {
        ...injectedMarker,
        containers: [{ name: "consul-dataplane-multiport" }, { name: "consul-dataplane-multiport-admin" }],
      },
    ],
    // What the injector stamps: the marker is a label and an annotation; either one tells.
    ["the label marker alone", { labels: { [STATUS]: "injected" } }],
    ["the annotation marker alone", { annotations: { [STATUS]: "injected" } }],
    // Traps: before consul-k8s 1.0, envoy-sidecar beside consul-sidecar.
    ["a pod injected before 1.0", { containers: [{ name: "envoy-sidecar" }, { name: "consul-sidecar" }] }],
  ] as const)("%s is on Consul", (_name, parts) => {
    const pod = podOf(parts as PodParts);
    expect(meshesOfPod(pod)).toEqual(["consul"]);
    expect(podOnNoMesh(pod)).toBe(false);
    expect(isDoubleMeshed(pod)).toBe(false);
  });

  it.each([
    // Traps: the telemetry collector opts out yet fakes the marker and a consul-dataplane container.
    [
      "the telemetry collector",
      {
        containers: [{ name: "consul-dataplane" }],
        initContainers: [{ name: "consul-connect-init" }],
        annotations: { [CONNECT_INJECT_ANNOTATION]: "false", [STATUS]: "injected" },
      },
    ],
    // Traps: a gateway's Envoy runs under the gateway's name, with gateway-kind.
    [
      "a mesh gateway",
      {
        containers: [{ name: "mesh-gateway" }],
        initContainers: [{ name: "mesh-gateway-init" }],
        annotations: {
          [CONNECT_INJECT_ANNOTATION]: "false",
          "consul.hashicorp.com/gateway-kind": "mesh-gateway",
        },
      },
    ],
  ] as const)("%s is Consul's own pod, never a workload to move", (_name, parts) => {
    const pod = podOf(parts as PodParts);
    expect(isConsulOwnPod(pod)).toBe(true);
    expect(consulDriver.isMember(pod)).toBe(false);
    expect(foreignMeshesOfPod(pod)).toEqual([]);
  });

  it("leaves the chart's own pods (app: consul, which its webhook skips) to Consul: never moved", () => {
    expect(meshRunsOwnPod({ app: "consul", component: "mesh-gateway" })).toBe(true);
    expect(meshRunsOwnPod({ app: "web" })).toBe(false);
  });

  it("does not take intent for membership: the opt-in annotation, a marker that is not 'injected'", () => {
    expect(meshesOfPod(podOf({ annotations: { [CONNECT_INJECT_ANNOTATION]: "true" } }))).toEqual([]);
    expect(meshesOfPod(podOf({ labels: { [STATUS]: "pending" } }))).toEqual([]);
    // A plain init container named like the sidecar finishes before the app: it proxies nothing.
    expect(meshesOfPod(podOf({ initContainers: [{ name: "consul-dataplane" }] }))).toEqual([]);
    expect(
      meshesOfPod(fixtureTemplate("consul/static-server-tcp_deployment.yaml Deployment/static-server-tcp")),
    ).toEqual([]);
  });

  it("finds consul-dataplane beside another mesh's proxy: two meshes in one pod", () => {
    const pod = podOf({
      ...injectedMarker,
      containers: [{ name: "consul-dataplane" }, { name: "istio-proxy" }],
    });
    expect(meshesOfPod(pod)).toEqual(["consul", "istio"]);
    expect(isDoubleMeshed(pod)).toBe(true);
  });

  it("reads its own member marks as a member (the plan is projected on them)", () => {
    const marks = consulDriver.memberMarks({ mesh: "consul" });
    const pod = podOf({
      containers: marks.containers.map((name) => ({ name })),
      annotations: marks.annotations,
    });
    expect(consulDriver.isMember(pod)).toBe(true);
  });
});

describe("opt-ins: the connect-inject annotation, read like Go's strconv.ParseBool", () => {
  it.each([
    ["true", true],
    ["1", true],
    ["T", true],
    ["False", false],
    ["0", false],
    ["yes", undefined],
    ["", undefined],
  ] as const)("%j → %s", (value, expected) => {
    expect(parseConnectInject(value)).toBe(expected);
  });

  it("finds the fixtures' opt-ins on their pod templates", () => {
    for (const id of [
      "consul/static-server-tcp_deployment.yaml Deployment/static-server-tcp",
      "consul/multiport-app_deployment.yaml Deployment/multiport",
    ]) {
      expect(consulDriver.templateOptIns(markersOf(fixtureTemplate(id).metadata))).toEqual([
        { kind: "annotation", key: CONNECT_INJECT_ANNOTATION, value: "true", optsIn: true },
      ]);
    }
  });

  it("reads no label: the annotation is the only key", () => {
    expect(consulDriver.templateOptIns(tpl({}, { [CONNECT_INJECT_ANNOTATION]: "true" }))).toEqual([]);
  });
});

describe("a namespace without a marker: it joins and leaves through its pod templates", () => {
  it("changes no namespace marker and reads none as enrolling", () => {
    expect(hasChanges(consulDriver.enroll({ mesh: "consul" }))).toBe(false);
    const istioNs: Markers = { labels: { "istio-injection": "enabled" }, annotations: {} };
    expect(applyChange(istioNs, namespaceSwitch({ mesh: "istio" }, { mesh: "consul" }, istioNs))).toEqual({
      labels: {},
      annotations: {},
    });
    // Consul's namespace labels set defaults for injected pods; they enroll nothing.
    expect(
      namespaceMeshes({ labels: { "consul.hashicorp.com/transparent-proxy": "true" }, annotations: {} }),
    ).toEqual([]);
  });

  it.each([
    ["istio", tpl()],
    ["linkerd", tpl()],
    ["none", tpl()],
    ["istio", tpl({}, { "sidecar.istio.io/inject": "true" })],
  ] as const)("%s → consul gives every template that states nothing the opt-in", (source, template) => {
    const { changes } = rewriteTemplateOptIns({ mesh: source }, { mesh: "consul" }, template);
    expect(applyChange(template, changes)).toEqual(tpl({ [CONNECT_INJECT_ANNOTATION]: "true" }));
  });

  it("keeps a template's opt-out of the source, and translates it", () => {
    const template = tpl({ "linkerd.io/inject": "disabled" });
    const { changes } = rewriteTemplateOptIns({ mesh: "linkerd" }, { mesh: "consul" }, template);
    expect(applyChange(template, changes)).toEqual(
      tpl({ "linkerd.io/inject": "disabled", [CONNECT_INJECT_ANNOTATION]: "false" }),
    );
  });

  it("leaves a template that already states a stance on Consul (a gateway's connect-inject: false)", () => {
    const gateway = tpl({
      [CONNECT_INJECT_ANNOTATION]: "false",
      "consul.hashicorp.com/gateway-kind": "mesh-gateway",
    });
    expect(hasChanges(rewriteTemplateOptIns({ mesh: "istio" }, { mesh: "consul" }, gateway).changes)).toBe(
      false,
    );
  });

  it.each([
    ["istio", tpl({}, { "sidecar.istio.io/inject": "true" })],
    ["linkerd", tpl({ "linkerd.io/inject": "enabled" })],
    ["none", tpl()],
  ] as const)("consul → %s replaces the opt-in", (target, expected) => {
    const template = tpl({ [CONNECT_INJECT_ANNOTATION]: "true" });
    const { changes } = rewriteTemplateOptIns({ mesh: "consul" }, { mesh: target }, template);
    expect(applyChange(template, changes)).toEqual(expected);
  });
});

describe("control plane and the double-mesh guard", () => {
  it("needs the connect injector Deployment and its webhook, by the chart's default names", () => {
    expect(consulDriver.controlPlane({ mesh: "consul" })).toEqual([
      expect.objectContaining({
        kind: "Deployment",
        namespace: "consul",
        names: ["consul-connect-injector", "consul-consul-connect-injector"],
      }),
      expect.objectContaining({
        kind: "MutatingWebhookConfiguration",
        names: ["consul-connect-injector", "consul-consul-connect-injector"],
      }),
    ]);
  });

  it("refuses each of our other meshes beside Consul", () => {
    const expressions = (guardPolicy().spec?.validations ?? []).map((v) => v.expression);
    for (const other of ["istio", "istio_ambient", "linkerd"]) {
      expect(expressions).toContain(`!(variables.consul && variables.${other})`);
    }
  });

  it("tells Consul at admission by its sidecars, its opt-in and its gateways", () => {
    const cel = consulDriver.admission?.cel ?? "";
    expect(cel).toContain("n == 'consul-dataplane' || n.startsWith('consul-dataplane-')");
    expect(cel).toContain(`'${CONNECT_INJECT_ANNOTATION}' in object.metadata.annotations`);
    expect(cel).toContain("'consul.hashicorp.com/gateway-kind' in object.metadata.annotations");
  });
});

describe("the test cluster's Consul injector runs with the chart's flags", () => {
  it("reads the flags of the chart's inject-connect script, quotes removed", () => {
    const script = [
      "exec consul-k8s-control-plane inject-connect \\",
      "  -default-inject=false \\",
      '  -consul-image="hashicorp/consul:2.1.0" \\',
      '  -allow-k8s-namespace="*" \\',
      "  -listen=:8080 \\",
      "  -enable-cni=false",
    ].join("\n");
    expect(chartFlags(script)).toEqual([
      "-default-inject=false",
      "-consul-image=hashicorp/consul:2.1.0",
      "-allow-k8s-namespace=*",
      "-listen=:8080",
      "-enable-cni=false",
    ]);
  });
});
