// Membership read from every pod template in the shared fixtures, against an explicit table.
//
// Decisions on PROVENANCE.md's "Surprises and traps":
// - Native sidecars (proxy in initContainers with restartPolicy Always) count like classic ones (trap 1, 2).
// - The CronJob's Istio annotations sit on jobTemplate.metadata, but the proxy is in the pod template,
//   and containers are what we read, so it is a member (trap 3).
// - custom-template has sidecar.istio.io/status but no proxy: not a member; annotations never
//   make a pod a member on their own (trap 4).
// - A container named istio-proxy makes a pod an Istio member whatever it is: gateways, waypoints,
//   the ztunnel DaemonSet (image ztunnel) and hand-written stubs alike (trap 5, 9). These live in
//   istio-system or run Istio's data plane, so they must never be counted as unmeshed or moved.
// - Images are never read: a user-supplied istio-proxy with image foo/bar is still Istio (trap 6).
// - Intent is not membership: linkerd.io/inject: enabled without a proxy, istio.io/dataplane-mode
//   labels and namespace labels do not make a member; only a proxy container or the runtime
//   ambient.istio.io/redirection: enabled annotation does (trap 7).
// - The ambient-redirect gateway (dataplane-mode ambient label plus istio-proxy) is Istio only: its
//   label is intent and no redirection annotation was written (trap 8).
// - A pod without spec, or a container without a name, is simply not a member (trap 9).
// - Pods of meshes we have no driver for are members of none of ours, and are recognised as
//   foreign-meshed (src/meshes/foreign-meshes.ts), so they are never counted as unmeshed: every
//   injected Kuma golden, native, classic, CNI and gateway alike. Intent is not membership here
//   either: Kuma's inputs (kuma.io/sidecar-injection, kuma.io/mesh labels) and Consul's
//   connect-inject annotation are foreign to nothing.
import { describe, expect, it } from "vitest";
import type { MeshName } from "../../../src/meshes/driver.ts";
import { proxyPlacement } from "../../../src/meshes/pod-facts.ts";
import {
  foreignMeshesOfPod,
  isDoubleMeshed,
  meshesOfPod,
  podOnMesh,
  podOnNoMesh,
} from "../../../src/meshes/registry.ts";
import { fixtureFiles, fixtureTemplate, fixtureTemplates } from "./fixtures.ts";

const EXPECTED: Record<string, MeshName[]> = {
  // Hand-written analyzer pods.
  "istio-ambient/analyzers_injection.yaml Pod/injectedpod": ["istio"], // stub istio-proxy, no annotations
  "istio-ambient/analyzers_injection.yaml Pod/noninjectedpod": [],
  "istio-ambient/analyzers_injection.yaml Pod/podinjectiondisabled": [],
  "istio-ambient/analyzers_injection.yaml Pod/istiod-canary-1234567890-12345": [], // istio.io/rev label only
  "istio-ambient/analyzers_injection.yaml Pod/podinjectiondisabled-label": [],
  "istio-ambient/analyzers_injection.yaml Pod/podinjectiondisabled-label-and-anno": [],
  "istio-ambient/analyzers_injection.yaml Pod/noninjectedpodhostnetwork": [],
  "istio-ambient/analyzers_sidecar-default-selector.yaml Pod/random-pod": [], // container without a name
  "istio-ambient/analyzers_sidecar-default-selector.yaml Pod/random-pod-ambient": ["istio-ambient"], // no spec
  // Istio infrastructure running a container named istio-proxy.
  "istio-ambient/gatewaycommon_kube-gateway-ambient-redirect.yaml Deployment/default-istio": ["istio"],
  "istio-ambient/gatewaycommon_waypoint.yaml Deployment/namespace": ["istio"],
  "istio-ambient/manifest-generate_ztunnel.golden.yaml DaemonSet/ztunnel": ["istio"],
  // Istio sidecar injector goldens and inputs.
  "istio-sidecar/cronjob.yaml CronJob/hellocron": [],
  "istio-sidecar/cronjob.yaml.injected CronJob/hellocron": ["istio"], // pod template metadata is {}
  "istio-sidecar/custom-template.yaml.injected Deployment/hello": [], // status annotation, no proxy
  "istio-sidecar/gateway.yaml.injected Deployment/istio-ingressgateway": ["istio"],
  "istio-sidecar/hello-host-network.yaml.injected Deployment/hello-host-network": [],
  "istio-sidecar/hello-ignore.yaml.injected Deployment/hello": [],
  "istio-sidecar/hello.yaml Deployment/hello": [],
  "istio-sidecar/hello.yaml.cni.injected Deployment/hello": ["istio"],
  "istio-sidecar/hello.yaml.injected Deployment/hello": ["istio"],
  "istio-sidecar/list.yaml.injected Deployment/hello-v1": ["istio"],
  "istio-sidecar/list.yaml.injected Deployment/hello-v2": ["istio"],
  "istio-sidecar/multi-container.yaml.injected Deployment/app": ["istio"],
  "istio-sidecar/multiple-templates.yaml.injected Deployment/hello": ["istio"], // image foo/bar
  "istio-sidecar/native-sidecar-opt-out.yaml.injected Pod/hellopod": ["istio"], // classic
  "istio-sidecar/native-sidecar.yaml.injected Pod/hello": ["istio"],
  "istio-sidecar/statefulset-old-version.yaml.injected StatefulSet/hello": ["istio"], // classic
  // Linkerd inject goldens and inputs.
  "linkerd/inject_emojivoto_deployment.golden.yml Deployment/web": ["linkerd"],
  "linkerd/inject_emojivoto_deployment.input.yml Deployment/web": [],
  "linkerd/inject_emojivoto_deployment_config_overrides.golden.yml Deployment/web": ["linkerd"],
  "linkerd/inject_emojivoto_deployment_debug.golden.yml Deployment/web": ["linkerd"],
  "linkerd/inject_emojivoto_deployment_injectDisabled.input.yml Deployment/web": [],
  "linkerd/inject_emojivoto_deployment_no_init_container.golden.yml Deployment/web": ["linkerd"],
  "linkerd/inject_emojivoto_deployment_opaque_ports.golden.yml Deployment/web": ["linkerd"],
  "linkerd/inject_emojivoto_deployment_overridden_noinject.golden.yml Deployment/web": [], // intent only
  "linkerd/inject_emojivoto_istio.input.yml Deployment/web": ["istio"], // Istio 1.0.2-shaped stub
  "linkerd/inject_emojivoto_list.golden.yml Deployment/web": ["linkerd"],
  "linkerd/inject_emojivoto_list.golden.yml Deployment/emoji": ["linkerd"],
  "linkerd/inject_emojivoto_pod_nativesidecar.golden.yml Pod/vote-bot": ["linkerd"],
  "linkerd/pre-native-ga_inject_emojivoto_deployment.golden.yml Deployment/web": ["linkerd"], // classic
  "linkerd/pre-native-ga_inject_emojivoto_deployment_native_sidecar.golden.yml Deployment/web": ["linkerd"],
  // Meshes we have no driver for are members of none of ours, injected or not: Kuma's kuma-sidecar
  // (native and classic), its CNI and gateway variants, and Consul's opt-in intent (no injected
  // Consul pod exists upstream). FOREIGN below says which are recognised as another mesh's.
  "consul/multiport-app_deployment.yaml Deployment/multiport": [],
  "consul/static-server-tcp_deployment.yaml Deployment/static-server-tcp": [],
  "kuma/inject.01.input.yaml Pod/busybox": [],
  "kuma/inject.01.golden.yaml Pod/busybox": [],
  "kuma/inject.02.input.yaml Pod/busybox": [],
  "kuma/inject.02.golden.yaml Pod/busybox": [],
  "kuma/inject.10.input.yaml Pod/busybox": [],
  "kuma/inject.10.golden.yaml Pod/busybox": [],
  "kuma/inject.12.input.yaml Pod/busybox": [],
  "kuma/inject.12.golden.yaml Pod/busybox": [],
  "kuma/inject.34.input.yaml Pod/busybox": [],
  "kuma/inject.34.golden.yaml Pod/busybox": [],
  "kuma/inject.41.input.yaml Pod/busybox": [],
  "kuma/inject.41.golden.yaml Pod/busybox": [],
  "kuma/pre-native-default_inject.01.golden.yaml Pod/busybox": [],
  "kuma/skip_inject.1.golden.yaml Pod/busybox": [],
  "kuma/skip_inject.2.golden.yaml Pod/busybox": [],
};

/** The meshes we do not drive that run a fixture pod template; every template not listed runs none. */
const FOREIGN: Record<string, string[]> = {
  "kuma/inject.01.golden.yaml Pod/busybox": ["kuma"], // native kuma-sidecar
  "kuma/inject.02.golden.yaml Pod/busybox": ["kuma"], // before the user's init container
  "kuma/inject.10.golden.yaml Pod/busybox": ["kuma"], // pod label beat the namespace's
  "kuma/inject.12.golden.yaml Pod/busybox": ["kuma"], // the pod's own kuma.io/mesh
  "kuma/inject.34.golden.yaml Pod/busybox": ["kuma"], // CNI: kuma-validation
  "kuma/inject.41.golden.yaml Pod/busybox": ["kuma"], // gateway with CNI: kuma-sidecar only
  "kuma/pre-native-default_inject.01.golden.yaml Pod/busybox": ["kuma"], // classic containers[0]
};

describe("meshesOfPod on every fixture pod template", () => {
  const templates = fixtureTemplates();

  it("finds exactly the templates the table lists, in every fixture file that has any", () => {
    expect(templates.map((entry) => entry.id).sort()).toEqual(Object.keys(EXPECTED).sort());
    // 54 data files; the three webhook extracts and App Mesh's kustomize patch hold no pod template.
    expect(fixtureFiles()).toHaveLength(54);
  });

  it.each(templates.map((entry) => [entry.id, entry.template] as const))("%s", (id, template) => {
    expect(meshesOfPod(template)).toEqual(EXPECTED[id]);
    expect(isDoubleMeshed(template)).toBe(false);
  });

  it("names only fixture templates in FOREIGN", () => {
    for (const id of Object.keys(FOREIGN)) expect(EXPECTED, id).toHaveProperty([id]);
  });

  it.each(templates.map((entry) => [entry.id, entry.template] as const))(
    "%s: foreign meshes, and whether it is unmeshed",
    (id, template) => {
      const foreign = FOREIGN[id] ?? [];
      expect(foreignMeshesOfPod(template).map((mesh) => mesh.id)).toEqual(foreign);
      expect(podOnNoMesh(template)).toBe(foreign.length === 0 && (EXPECTED[id] ?? []).length === 0);
    },
  );
});

describe("proxy placement", () => {
  it.each([
    ["istio-sidecar/hello.yaml.injected Deployment/hello", "istio-proxy", "native-sidecar"],
    ["istio-sidecar/statefulset-old-version.yaml.injected StatefulSet/hello", "istio-proxy", "container"],
    ["istio-sidecar/native-sidecar-opt-out.yaml.injected Pod/hellopod", "istio-proxy", "container"],
    ["istio-sidecar/multiple-templates.yaml.injected Deployment/hello", "istio-proxy", "native-sidecar"],
    ["linkerd/inject_emojivoto_deployment.golden.yml Deployment/web", "linkerd-proxy", "native-sidecar"],
    [
      "linkerd/pre-native-ga_inject_emojivoto_deployment.golden.yml Deployment/web",
      "linkerd-proxy",
      "container",
    ],
  ] as const)("%s runs %s as a %s", (id, container, placement) => {
    expect(proxyPlacement(fixtureTemplate(id), container)).toBe(placement);
  });

  it("ignores an init container named like a proxy that is not a native sidecar", () => {
    const pod = {
      spec: { initContainers: [{ name: "istio-proxy" }, { name: "linkerd-proxy", restartPolicy: "Never" }] },
    };
    expect(meshesOfPod(pod)).toEqual([]);
  });

  it("tolerates missing or null container lists and nameless containers", () => {
    expect(meshesOfPod({})).toEqual([]);
    expect(meshesOfPod({ spec: {} })).toEqual([]);
    const nulls = { spec: { containers: null, initContainers: null } } as unknown as Parameters<
      typeof meshesOfPod
    >[0];
    expect(meshesOfPod(nulls)).toEqual([]);
    expect(meshesOfPod({ spec: { containers: [{ image: "proxyv2" }] } })).toEqual([]);
  });
});

describe("podOnMesh", () => {
  const injected = fixtureTemplate("istio-sidecar/hello.yaml.injected Deployment/hello");
  const stub = fixtureTemplate("istio-ambient/analyzers_injection.yaml Pod/injectedpod");
  const linkerd = fixtureTemplate("linkerd/inject_emojivoto_deployment.golden.yml Deployment/web");
  const plain = fixtureTemplate("istio-sidecar/hello.yaml Deployment/hello");
  const cron = fixtureTemplate("istio-sidecar/cronjob.yaml.injected CronJob/hellocron");

  it("matches the mesh, and the Istio revision when one is asked for", () => {
    expect(podOnMesh(injected, { mesh: "istio" })).toBe(true);
    expect(podOnMesh(injected, { mesh: "istio", revision: "default" })).toBe(true);
    expect(podOnMesh(injected, { mesh: "istio", revision: "canary" })).toBe(false);
    expect(podOnMesh(injected, { mesh: "linkerd" })).toBe(false);
    expect(podOnMesh(linkerd, { mesh: "linkerd" })).toBe(true);
  });

  it("reads the revision from sidecar.istio.io/status when the pod has no istio.io/rev annotation", () => {
    const statusOnly = {
      metadata: {
        annotations: { "sidecar.istio.io/status": '{"containers":["istio-proxy"],"revision":"1-24"}' },
      },
      spec: { containers: [{ name: "app" }, { name: "istio-proxy" }] },
    };
    expect(podOnMesh(statusOnly, { mesh: "istio", revision: "1-24" })).toBe(true);
    expect(podOnMesh(statusOnly, { mesh: "istio", revision: "default" })).toBe(false);
  });

  it("matches no specific revision when the pod does not say which one injected it", () => {
    // The stub and the CronJob template (annotations on jobTemplate.metadata) carry no revision.
    expect(podOnMesh(stub, { mesh: "istio" })).toBe(true);
    expect(podOnMesh(stub, { mesh: "istio", revision: "default" })).toBe(false);
    expect(podOnMesh(cron, { mesh: "istio", revision: "default" })).toBe(false);
  });

  it('treats "none" as a member of no mesh', () => {
    expect(podOnMesh(plain, { mesh: "none" })).toBe(true);
    expect(podOnMesh(injected, { mesh: "none" })).toBe(false);
    expect(podOnMesh(linkerd, { mesh: "none" })).toBe(false);
  });
});
