// The emulated Linkerd injector against linkerd inject's goldens, and its decision rules.
import { createHash } from "node:crypto";
import type { V1Container, V1MutatingWebhookConfiguration, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { applyPodPatch, podPatch } from "../../emulators/admission.ts";
import { webhookSelects } from "../../emulators/label-selector.ts";
import {
  decideLinkerdInjection,
  EMULATED_TRUST_ANCHORS,
  injectLinkerdProxy,
} from "../../emulators/linkerd-injector.ts";
import { linkerdWebhookConfiguration } from "../../emulators/linkerd-webhook.ts";
import { LINKERD_PROXY_IMAGE, LINKERD_VERSION } from "../../emulators/names.ts";
import { deploymentPod, pod, withoutLabel } from "./admission-pods.ts";
import { fixtureObject, fixturePod, names } from "./fixtures.ts";

const native = { namespace: "emojivoto", nativeSidecars: true };
const classic = { ...native, nativeSidecars: false };

function container(list: V1Container[] | undefined, name: string): V1Container {
  const found = list?.find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

describe("Linkerd injection shaped like the goldens", () => {
  const input = fixturePod("linkerd/inject_emojivoto_deployment.input.yml");
  const admitted = deploymentPod(input, "web");

  describe("native sidecar (the default)", () => {
    const golden = fixturePod("linkerd/inject_emojivoto_deployment.golden.yml");
    const injected = injectLinkerdProxy(admitted, native);

    it("puts linkerd-init then a native linkerd-proxy in initContainers", () => {
      expect(names(injected.spec?.initContainers)).toEqual(names(golden.spec?.initContainers));
      expect(names(injected.spec?.initContainers)).toEqual(["linkerd-init", "linkerd-proxy"]);
      expect(names(injected.spec?.containers)).toEqual(names(golden.spec?.containers));
      expect(container(injected.spec?.initContainers, "linkerd-proxy").restartPolicy).toBe("Always");
      expect(container(injected.spec?.initContainers, "linkerd-init").restartPolicy).toBeUndefined();
    });

    it("adds the golden's volumes", () => {
      expect(names(injected.spec?.volumes)).toEqual(names(golden.spec?.volumes));
    });

    it("carries the golden's labels, with the owning Deployment named", () => {
      expect(withoutLabel(injected.metadata?.labels, "pod-template-hash")).toEqual(golden.metadata?.labels);
    });

    it("carries the golden's annotation keys, with the emulated version and trust root", () => {
      const annotations = injected.metadata?.annotations ?? {};
      expect(Object.keys(annotations).sort()).toEqual(Object.keys(golden.metadata?.annotations ?? {}).sort());
      expect(annotations["linkerd.io/proxy-version"]).toBe(LINKERD_VERSION);
      expect(annotations["linkerd.io/created-by"]).toBe(`linkerd/proxy-injector ${LINKERD_VERSION}`);
      expect(annotations["linkerd.io/trust-root-sha256"]).toBe(
        createHash("sha256").update(EMULATED_TRUST_ANCHORS).digest("hex"),
      );
    });

    it("runs the proxy image for both proxy and init, with the golden's ports", () => {
      const proxy = container(injected.spec?.initContainers, "linkerd-proxy");
      expect(proxy.image).toBe(LINKERD_PROXY_IMAGE);
      expect(container(injected.spec?.initContainers, "linkerd-init").image).toBe(LINKERD_PROXY_IMAGE);
      expect(proxy.ports).toEqual(container(golden.spec?.initContainers, "linkerd-proxy").ports);
      expect(proxy.env?.find((e) => e.name === "LINKERD2_PROXY_INBOUND_PORTS")?.value).toBe("80");
    });

    it("produces a JSONPatch that turns the admitted pod into the injected one", () => {
      expect(applyPodPatch(admitted, podPatch(admitted, injected))).toEqual(injected);
    });
  });

  describe("classic sidecar (pre-native-GA golden)", () => {
    const golden = fixturePod("linkerd/pre-native-ga_inject_emojivoto_deployment.golden.yml");
    const injected = injectLinkerdProxy(admitted, classic);

    it("puts linkerd-proxy first in containers and linkerd-init alone in initContainers", () => {
      expect(names(injected.spec?.containers)).toEqual(names(golden.spec?.containers));
      expect(names(injected.spec?.containers)).toEqual(["linkerd-proxy", "web-svc"]);
      expect(names(injected.spec?.initContainers)).toEqual(names(golden.spec?.initContainers));
      expect(container(injected.spec?.containers, "linkerd-proxy").restartPolicy).toBeUndefined();
      expect(container(injected.spec?.containers, "linkerd-proxy").lifecycle?.postStart).toBeDefined();
    });

    it("has the same labels and annotation keys as the native form", () => {
      expect(withoutLabel(injected.metadata?.labels, "pod-template-hash")).toEqual(golden.metadata?.labels);
      expect(Object.keys(injected.metadata?.annotations ?? {}).sort()).toEqual(
        Object.keys(golden.metadata?.annotations ?? {}).sort(),
      );
    });
  });

  it("keeps user init containers after linkerd-init and linkerd-proxy", () => {
    const withInit = pod({
      initContainers: ["envoy-initconfig"],
      annotations: { "linkerd.io/inject": "enabled" },
    });
    expect(names(injectLinkerdProxy(withInit, native).spec?.initContainers)).toEqual([
      "linkerd-init",
      "linkerd-proxy",
      "envoy-initconfig",
    ]);
    expect(names(injectLinkerdProxy(withInit, classic).spec?.initContainers)).toEqual([
      "linkerd-init",
      "envoy-initconfig",
    ]);
  });

  it("omits the owner label for a bare pod", () => {
    const labels = injectLinkerdProxy(pod(), native).metadata?.labels ?? {};
    expect(Object.keys(labels).filter((k) => k.startsWith("linkerd.io/proxy-"))).toEqual([]);
    expect(labels["linkerd.io/workload-ns"]).toBe("emojivoto");
  });

  it("follows the native-sidecar config annotation on the pod or the namespace", () => {
    const key = "config.beta.linkerd.io/proxy-enable-native-sidecar";
    const onPod = injectLinkerdProxy(pod({ annotations: { [key]: "false" } }), native);
    expect(names(onPod.spec?.containers)).toEqual(["linkerd-proxy", "app"]);
    const onNamespace = injectLinkerdProxy(pod(), { ...classic, namespaceAnnotations: { [key]: "true" } });
    expect(names(onNamespace.spec?.initContainers)).toEqual(["linkerd-init", "linkerd-proxy"]);
  });
});

describe("Linkerd injector decisions", () => {
  const enabled = { "linkerd.io/inject": "enabled" };
  const cases: Array<{ name: string; ns: Record<string, string>; pod: V1Pod; inject: boolean }> = [
    { name: "namespace enabled, pod unset", ns: enabled, pod: pod(), inject: true },
    {
      name: "namespace ingress, pod unset",
      ns: { "linkerd.io/inject": "ingress" },
      pod: pod(),
      inject: true,
    },
    {
      name: "namespace enabled, pod disabled",
      ns: enabled,
      pod: pod({ annotations: { "linkerd.io/inject": "disabled" } }),
      inject: false,
    },
    { name: "namespace unset, pod enabled", ns: {}, pod: pod({ annotations: enabled }), inject: true },
    {
      name: "namespace unset, pod ingress",
      ns: {},
      pod: pod({ annotations: { "linkerd.io/inject": "ingress" } }),
      inject: true,
    },
    { name: "namespace unset, pod unset", ns: {}, pod: pod(), inject: false },
    {
      name: "namespace disabled, pod enabled",
      ns: { "linkerd.io/inject": "disabled" },
      pod: pod({ annotations: enabled }),
      inject: true,
    },
    {
      name: "namespace disabled, pod unset",
      ns: { "linkerd.io/inject": "disabled" },
      pod: pod(),
      inject: false,
    },
    { name: "a label is not the annotation", ns: {}, pod: pod({ labels: enabled }), inject: false },
    { name: "invalid namespace value", ns: { "linkerd.io/inject": "yes" }, pod: pod(), inject: false },
    {
      name: "invalid pod value",
      ns: enabled,
      pod: pod({ annotations: { "linkerd.io/inject": "on" } }),
      inject: false,
    },
    {
      name: "refuses istio-proxy",
      ns: enabled,
      pod: pod({ containers: ["app", "istio-proxy"] }),
      inject: false,
    },
    {
      name: "refuses native istio-proxy",
      ns: enabled,
      pod: pod({ initContainers: ["istio-proxy"] }),
      inject: false,
    },
    { name: "refuses istio-init", ns: enabled, pod: pod({ initContainers: ["istio-init"] }), inject: false },
    {
      name: "refuses linkerd-proxy",
      ns: enabled,
      pod: pod({ containers: ["linkerd-proxy", "app"] }),
      inject: false,
    },
    {
      name: "refuses linkerd-init",
      ns: enabled,
      pod: pod({ initContainers: ["linkerd-init"] }),
      inject: false,
    },
    { name: "skips host network", ns: enabled, pod: pod({ hostNetwork: true }), inject: false },
    {
      name: "skips pods without a service account token",
      ns: enabled,
      pod: pod({ automountServiceAccountToken: false }),
      inject: false,
    },
  ];
  it.each(cases)("$name → inject: $inject", ({ ns, pod, inject }) => {
    expect(decideLinkerdInjection(pod, ns).inject).toBe(inject);
  });

  it("ignores linkerd.io/inject on Deployment metadata: only the pod template's counts", () => {
    const deployment = fixtureObject("linkerd/inject_emojivoto_deployment.input.yml");
    const annotatedDeployment = { ...deployment, metadata: { ...deployment.metadata, annotations: enabled } };
    const template = annotatedDeployment.spec?.template;
    const admitted = deploymentPod({ metadata: template?.metadata ?? {}, spec: template?.spec }, "web");
    expect(decideLinkerdInjection(admitted, {}).inject).toBe(false);
  });

  it("refuses the Istio-injected stub, like linkerd inject does", () => {
    expect(decideLinkerdInjection(fixturePod("linkerd/inject_emojivoto_istio.input.yml"), enabled)).toEqual({
      inject: false,
      reason: "pod has a sidecar injected already",
    });
  });

  it("skips the injectDisabled input even in an enabled namespace", () => {
    const disabled = fixturePod("linkerd/inject_emojivoto_deployment_injectDisabled.input.yml");
    expect(decideLinkerdInjection(disabled, enabled).inject).toBe(false);
  });
});

describe("Linkerd webhook configuration", () => {
  const real = fixtureObject(
    "webhooks/linkerd_install_default.golden_linkerd-proxy-injector-webhook-config.yaml",
  ) as unknown as V1MutatingWebhookConfiguration;
  const ours = linkerdWebhookConfiguration({ url: "https://127.0.0.1:1/", caBundle: "Q0E=" });
  const [webhook] = ours.webhooks ?? [];
  const [realWebhook] = real.webhooks ?? [];

  it("has the real name, selectors and failure policy", () => {
    expect(ours.metadata?.name).toBe(real.metadata?.name);
    expect(webhook?.name).toBe(realWebhook?.name);
    expect(webhook?.namespaceSelector).toEqual(realWebhook?.namespaceSelector);
    expect(webhook?.objectSelector ?? null).toBeNull();
    expect(webhook?.failurePolicy).toBe("Ignore");
    expect(webhook?.sideEffects).toBe("None");
    expect(webhook?.rules?.[0]?.operations).toEqual(["CREATE"]);
  });

  it("sees every namespace but those opted out and kube-system/cert-manager", () => {
    if (!webhook) throw new Error("no webhook");
    const ns = (name: string, labels: Record<string, string> = {}) => ({
      "kubernetes.io/metadata.name": name,
      ...labels,
    });
    expect(webhookSelects(webhook, ns("shop"), {})).toBe(true);
    expect(webhookSelects(webhook, ns("kube-system"), {})).toBe(false);
    expect(webhookSelects(webhook, ns("cert-manager"), {})).toBe(false);
    expect(
      webhookSelects(webhook, ns("linkerd", { "config.linkerd.io/admission-webhooks": "disabled" }), {}),
    ).toBe(false);
  });
});
