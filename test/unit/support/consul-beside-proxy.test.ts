// The invariant the global e2e setup watches for: consul-dataplane beside any other mesh's proxy.
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { consulBesideAnotherProxy } from "../../support/consul-beside-proxy.ts";

function pod(containers: string[], initContainers: V1Container[] = []): V1Pod {
  return {
    metadata: { name: "p", namespace: "n" },
    spec: { containers: containers.map((name) => ({ name, image: "example.com/x:1" })), initContainers },
  };
}

const NATIVE_DATAPLANE: V1Container = { name: "consul-dataplane", image: "x", restartPolicy: "Always" };

describe("consulBesideAnotherProxy", () => {
  it.each([
    ["consul-dataplane alone", pod(["app", "consul-dataplane"]), false],
    ["a native consul-dataplane alone", pod(["app"], [NATIVE_DATAPLANE]), false],
    ["istio-proxy alone", pod(["app", "istio-proxy"]), false],
    ["consul-dataplane beside istio-proxy", pod(["consul-dataplane", "app", "istio-proxy"]), true],
    [
      "a native consul-dataplane beside linkerd-proxy",
      pod(["linkerd-proxy", "app"], [NATIVE_DATAPLANE]),
      true,
    ],
    ["consul-dataplane-<service> beside linkerd-proxy", pod(["consul-dataplane-web", "linkerd-proxy"]), true],
    ["consul-dataplane beside Kuma's kuma-sidecar", pod(["consul-dataplane", "kuma-sidecar"]), true],
  ])("%s", (_name, subject, expected) => {
    expect(consulBesideAnotherProxy(subject)).toBe(expected);
  });
});
