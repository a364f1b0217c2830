// Sidecars that cannot speak HBONE, found from the real injected manifests: Istio's injector
// copies meshConfig.defaultConfig.proxyMetadata into istio-proxy's env, and none of the goldens
// was rendered with the ambient profile, so none carries ISTIO_META_ENABLE_HBONE; the ztunnel
// golden does (it is not a sidecar). The cache's pod shape must keep the answer.
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { podShape } from "../../../src/controller/cache-shapes.ts";
import { injectedWithoutHbone, istioHboneWarnings } from "../../../src/preflight/istio-hbone-capable.ts";
import { servedPod } from "../../support/served-objects.ts";
import { fixtureTemplate, fixtureTemplates } from "../meshes/fixtures.ts";
import { ambientInput } from "./ambient-builders.ts";
import { ISTIO_NS, LINKERD, UNMESHED_NS } from "./builders.ts";

const HELLO = "istio-sidecar/hello.yaml.injected Deployment/hello";
const CLASSIC = "istio-sidecar/statefulset-old-version.yaml.injected StatefulSet/hello";

function pod(
  id: string,
  namespace: string,
  index: number,
  options: Partial<Parameters<typeof servedPod>[1]> = {},
) {
  return servedPod(fixtureTemplate(id), { namespace, index, ...options });
}

/** The pod with ISTIO_META_ENABLE_HBONE set on its istio-proxy, as the ambient profile's injector writes it. */
function withHbone(served: V1Pod, value = "true"): V1Pod {
  const copy = structuredClone(served);
  for (const container of [...(copy.spec?.containers ?? []), ...(copy.spec?.initContainers ?? [])]) {
    if (container.name === "istio-proxy")
      container.env = [...(container.env ?? []), { name: "ISTIO_META_ENABLE_HBONE", value }];
  }
  return copy;
}

describe("injectedWithoutHbone", () => {
  it("counts every injected proxy of the fixtures, gateways included, and not ztunnel, waypoints or stubs", () => {
    const counted = fixtureTemplates()
      .filter(({ id }) => id.startsWith("istio"))
      .map(({ id, template }, index) => ({ id, served: servedPod(template, { namespace: "shop", index }) }))
      .filter(({ served }) => injectedWithoutHbone(served))
      .map(({ id }) => id);
    expect(counted).toEqual([
      "istio-sidecar/gateway.yaml.injected Deployment/istio-ingressgateway",
      "istio-sidecar/hello.yaml.cni.injected Deployment/hello",
      HELLO,
      "istio-sidecar/list.yaml.injected Deployment/hello-v1",
      "istio-sidecar/list.yaml.injected Deployment/hello-v2",
      "istio-sidecar/multi-container.yaml.injected Deployment/app",
      "istio-sidecar/multiple-templates.yaml.injected Deployment/hello",
      "istio-sidecar/native-sidecar-opt-out.yaml.injected Pod/hellopod",
      "istio-sidecar/native-sidecar.yaml.injected Pod/hello",
      CLASSIC,
    ]);
  });

  it("clears a proxy that runs with ISTIO_META_ENABLE_HBONE=true, native or classic, and keeps the answer when cached", () => {
    for (const [i, id] of [HELLO, CLASSIC].entries()) {
      const served = pod(id, "billing", i);
      for (const [value, without] of [
        ["true", false],
        ["1", false],
        ["false", true],
      ] as const) {
        const variant = withHbone(served, value);
        expect(injectedWithoutHbone(variant), `${id} ${value}`).toBe(without);
        expect(injectedWithoutHbone(podShape(variant)), `${id} ${value}, cached`).toBe(without);
      }
      expect(injectedWithoutHbone(podShape(served))).toBe(true);
    }
  });

  it("skips pods on their way out and pods that finished", () => {
    expect(injectedWithoutHbone(pod(HELLO, "billing", 1, { terminating: true }))).toBe(false);
    expect(injectedWithoutHbone(pod(HELLO, "billing", 2, { phase: "Succeeded" }))).toBe(false);
  });
});

describe("istioHboneWarnings", () => {
  it("names the namespaces and pods to restart, staying and moving alike, in one warning", () => {
    const pods = [
      pod(HELLO, "billing", 1),
      pod(HELLO, "billing", 2),
      withHbone(pod(HELLO, "billing", 3)),
      pod(CLASSIC, "shop", 4),
      pod(HELLO, "gone", 5),
    ];
    const warnings = istioHboneWarnings(
      ambientInput({
        namespaces: { shop: ISTIO_NS, billing: ISTIO_NS, gone: ISTIO_NS, tools: UNMESHED_NS },
        pods,
      }),
    );
    expect(warnings).toEqual([
      {
        code: "IstioSidecarWithoutHBONE",
        severity: "Warning",
        message: expect.stringContaining("4 Istio sidecar pods cannot speak HBONE"),
      },
    ]);
    const message = warnings[0]?.message ?? "";
    expect(message).toContain(
      `billing (stays; 2 pods: ${pods[0]?.metadata?.name}, ${pods[1]?.metadata?.name})`,
    );
    expect(message).toContain(`shop (moves; 1 pod: ${pods[3]?.metadata?.name})`);
    expect(message).toContain("STRICT PeerAuthentication refuses it");
    expect(message).toContain("upgrade Istio to the ambient profile");
  });

  it("says nothing when every sidecar speaks HBONE, or when the target is not ambient", () => {
    const hbone = [withHbone(pod(HELLO, "billing", 1))];
    expect(istioHboneWarnings(ambientInput({ pods: hbone }))).toEqual([]);
    expect(istioHboneWarnings(ambientInput({ target: LINKERD, pods: [pod(HELLO, "billing", 1)] }))).toEqual(
      [],
    );
  });

  it("does not count the pods of a namespace being deleted", () => {
    const input = ambientInput({ pods: [pod(HELLO, "billing", 1)] });
    const namespaces = new Map(input.namespaces);
    namespaces.set("billing", { markers: ISTIO_NS, terminating: true });
    expect(istioHboneWarnings({ ...input, namespaces })).toEqual([]);
  });
});
