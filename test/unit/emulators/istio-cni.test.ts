// istio-cni's ambient marking rules.
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { REDIRECTION_ANNOTATION, redirectionChange } from "../../emulators/istio-cni.ts";
import { pod } from "./admission-pods.ts";

function running(p: V1Pod, phase = "Running"): V1Pod {
  return { ...p, status: { phase } };
}

const marked = { [REDIRECTION_ANNOTATION]: "enabled" };
const ambientNs = { "istio.io/dataplane-mode": "ambient" };

describe("ambient redirection marking", () => {
  const cases: Array<{ name: string; ns: Record<string, string>; pod: V1Pod; change: string }> = [
    { name: "running pod in an ambient namespace", ns: ambientNs, pod: running(pod()), change: "enable" },
    {
      name: "pending pod waits until it runs",
      ns: ambientNs,
      pod: running(pod(), "Pending"),
      change: "keep",
    },
    {
      name: "running pod with the ambient label in a plain namespace",
      ns: {},
      pod: running(pod({ labels: ambientNs })),
      change: "enable",
    },
    {
      name: "pod label none opts out of an ambient namespace",
      ns: ambientNs,
      pod: running(pod({ labels: { "istio.io/dataplane-mode": "none" } })),
      change: "keep",
    },
    { name: "plain namespace and pod", ns: {}, pod: running(pod()), change: "keep" },
    {
      name: "Istio sidecar pods are skipped",
      ns: ambientNs,
      pod: running(
        pod({ annotations: { "sidecar.istio.io/status": "{}" }, initContainers: ["istio-proxy"] }),
      ),
      change: "keep",
    },
    {
      name: "a linkerd-proxy pod IS captured (the double-mesh hazard)",
      ns: ambientNs,
      pod: running(pod({ initContainers: ["linkerd-init", "linkerd-proxy"] })),
      change: "enable",
    },
    {
      name: "host network pods are skipped",
      ns: ambientNs,
      pod: running(pod({ hostNetwork: true })),
      change: "keep",
    },
    { name: "already marked", ns: ambientNs, pod: running(pod({ annotations: marked })), change: "keep" },
    { name: "namespace left ambient", ns: {}, pod: running(pod({ annotations: marked })), change: "remove" },
    {
      name: "pod opted out after being marked",
      ns: ambientNs,
      pod: running(pod({ labels: { "istio.io/dataplane-mode": "none" }, annotations: marked })),
      change: "remove",
    },
    {
      name: "a finished pod that left is unmarked too",
      ns: {},
      pod: running(pod({ annotations: marked }), "Succeeded"),
      change: "remove",
    },
  ];
  it.each(cases)("$name → $change", ({ ns, pod, change }) => {
    expect(redirectionChange(pod, ns)).toBe(change);
  });
});
