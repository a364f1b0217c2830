// Double meshing, on synthetic pods assembled from real fixture containers.
import { describe, expect, it } from "vitest";
import type { PodFacts } from "../../../src/meshes/driver.ts";
import { isDoubleMeshed, meshesOfPod } from "../../../src/meshes/registry.ts";
import { fixtureTemplate } from "./fixtures.ts";

const istioNative = fixtureTemplate("istio-sidecar/hello.yaml.injected Deployment/hello");
const istioClassic = fixtureTemplate("istio-sidecar/statefulset-old-version.yaml.injected StatefulSet/hello");
const linkerdNative = fixtureTemplate("linkerd/inject_emojivoto_deployment.golden.yml Deployment/web");
const linkerdClassic = fixtureTemplate(
  "linkerd/pre-native-ga_inject_emojivoto_deployment.golden.yml Deployment/web",
);
const linkerdIntent = fixtureTemplate(
  "linkerd/inject_emojivoto_deployment_overridden_noinject.golden.yml Deployment/web",
);
const ambientPod = fixtureTemplate(
  "istio-ambient/analyzers_sidecar-default-selector.yaml Pod/random-pod-ambient",
);

/** A pod with the containers of every given template, the metadata of the first, plus extra annotations. */
function combine(templates: PodFacts[], annotations: Record<string, string> = {}): PodFacts {
  const first = templates[0];
  return {
    metadata: { ...first?.metadata, annotations: { ...first?.metadata?.annotations, ...annotations } },
    spec: {
      containers: templates.flatMap((t) => t.spec?.containers ?? []),
      initContainers: templates.flatMap((t) => t.spec?.initContainers ?? []),
    },
  };
}

const CAPTURED = { "ambient.istio.io/redirection": "enabled" };

describe("isDoubleMeshed", () => {
  it.each([
    [
      "native istio-proxy + native linkerd-proxy",
      combine([istioNative, linkerdNative]),
      ["istio", "linkerd"],
    ],
    [
      "classic istio-proxy + classic linkerd-proxy",
      combine([istioClassic, linkerdClassic]),
      ["istio", "linkerd"],
    ],
    [
      "native istio-proxy + classic linkerd-proxy",
      combine([linkerdClassic, istioNative]),
      ["istio", "linkerd"],
    ],
    ["linkerd-proxy captured by ambient", combine([linkerdNative], CAPTURED), ["istio-ambient", "linkerd"]],
    [
      "classic linkerd-proxy captured by ambient",
      combine([linkerdClassic], CAPTURED),
      ["istio-ambient", "linkerd"],
    ],
    ["istio-proxy captured by ambient", combine([istioNative], CAPTURED), ["istio", "istio-ambient"]],
  ] as const)("%s is double-meshed", (_name, pod, meshes) => {
    expect(meshesOfPod(pod)).toEqual(meshes);
    expect(isDoubleMeshed(pod)).toBe(true);
  });

  it.each([
    ["a native Linkerd pod", linkerdNative],
    ["a native Istio pod", istioNative],
    ["an ambient-captured pod without a proxy", ambientPod],
    // linkerd.io/inject: enabled is intent: without a proxy there is nothing for ambient to double.
    ["an annotate-only Linkerd pod captured by ambient", combine([linkerdIntent], CAPTURED)],
    [
      "a linkerd-proxy pod whose redirection is disabled",
      combine([linkerdNative], { "ambient.istio.io/redirection": "disabled" }),
    ],
  ] as const)("%s is not double-meshed", (_name, pod) => {
    expect(isDoubleMeshed(pod)).toBe(false);
  });
});
