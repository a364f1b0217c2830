// The Istio webhook configurations we register, against the rendered real one, and the
// selector-level contract (namespace labels, revisions, pod opt-in) they produce.
import type { V1MutatingWebhook, V1MutatingWebhookConfiguration, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { istioAdmissionOutcome, istioWebhookConfiguration } from "../../emulators/istio-webhooks.ts";
import { pod } from "./admission-pods.ts";
import { fixtureObject } from "./fixtures.ts";

const endpoint = { url: "https://127.0.0.1:12345/inject", caBundle: "Q0E=" };

/** What decides routing and failure handling; the real one points at a Service, ours at a URL. */
function routing(webhook: V1MutatingWebhook) {
  return {
    name: webhook.name,
    namespaceSelector: webhook.namespaceSelector,
    objectSelector: webhook.objectSelector,
    rules: webhook.rules,
    failurePolicy: webhook.failurePolicy,
    sideEffects: webhook.sideEffects,
    admissionReviewVersions: webhook.admissionReviewVersions,
    reinvocationPolicy: webhook.reinvocationPolicy,
  };
}

describe("Istio webhook configurations", () => {
  const real = fixtureObject(
    "webhooks/istio_pilot_default.golden_istio-sidecar-injector.yaml",
  ) as unknown as V1MutatingWebhookConfiguration;

  it("registers the default revision with the real 4 webhooks and selectors", () => {
    const ours = istioWebhookConfiguration("default", endpoint);
    expect(ours.metadata?.name).toBe("istio-sidecar-injector");
    expect(ours.webhooks?.map(routing)).toEqual(real.webhooks?.map(routing));
  });

  it("points every webhook at the emulator over HTTPS with the CA bundle", () => {
    for (const webhook of istioWebhookConfiguration("default", endpoint).webhooks ?? []) {
      expect(webhook.clientConfig).toEqual({ url: endpoint.url, caBundle: endpoint.caBundle });
    }
  });

  it("registers a revision with only the revision webhooks, selecting that revision", () => {
    const ours = istioWebhookConfiguration("1-24", endpoint);
    expect(ours.metadata?.name).toBe("istio-sidecar-injector-1-24");
    const expected = (real.webhooks ?? [])
      .filter((w) => w.name.startsWith("rev."))
      .map((w) => JSON.parse(JSON.stringify(routing(w)).replaceAll('"default"', '"1-24"')));
    expect(ours.webhooks?.map(routing)).toEqual(expected);
  });
});

describe("which Istio revision injects a pod", () => {
  const revisions = ["default", "1-24"];
  const nsName = "shop";
  const cases: Array<{ name: string; ns: Record<string, string>; pod: V1Pod; revision: string | undefined }> =
    [
      { name: "unlabelled namespace", ns: {}, pod: pod(), revision: undefined },
      {
        name: "istio-injection=enabled",
        ns: { "istio-injection": "enabled" },
        pod: pod(),
        revision: "default",
      },
      {
        name: "istio-injection=disabled",
        ns: { "istio-injection": "disabled" },
        pod: pod(),
        revision: undefined,
      },
      { name: "istio.io/rev=1-24", ns: { "istio.io/rev": "1-24" }, pod: pod(), revision: "1-24" },
      { name: "istio.io/rev=default", ns: { "istio.io/rev": "default" }, pod: pod(), revision: "default" },
      {
        name: "istio.io/rev of a revision not installed",
        ns: { "istio.io/rev": "9-9" },
        pod: pod(),
        revision: undefined,
      },
      {
        name: "istio-injection=enabled beats istio.io/rev",
        ns: { "istio-injection": "enabled", "istio.io/rev": "1-24" },
        pod: pod(),
        revision: "default",
      },
      {
        name: "pod label inject=true in an unlabelled namespace",
        ns: {},
        pod: pod({ labels: { "sidecar.istio.io/inject": "true" } }),
        revision: "default",
      },
      {
        name: "pod annotation inject=true in an unlabelled namespace is not enough",
        ns: {},
        pod: pod({ annotations: { "sidecar.istio.io/inject": "true" } }),
        revision: undefined,
      },
      {
        name: "pod label istio.io/rev=1-24 in an unlabelled namespace",
        ns: {},
        pod: pod({ labels: { "istio.io/rev": "1-24" } }),
        revision: "1-24",
      },
      {
        name: "pod label inject=false in an injection namespace",
        ns: { "istio-injection": "enabled" },
        pod: pod({ labels: { "sidecar.istio.io/inject": "false" } }),
        revision: undefined,
      },
      {
        name: "pod label inject=false in a revision namespace",
        ns: { "istio.io/rev": "1-24" },
        pod: pod({ labels: { "sidecar.istio.io/inject": "false" } }),
        revision: undefined,
      },
      {
        name: "pod label inject=true with istio-injection=disabled",
        ns: { "istio-injection": "disabled" },
        pod: pod({ labels: { "sidecar.istio.io/inject": "true" } }),
        revision: undefined,
      },
    ];
  it.each(cases)("$name → $revision", ({ ns, pod, revision }) => {
    expect(istioAdmissionOutcome(revisions, nsName, ns, pod).revision).toBe(revision);
  });

  it("reaches the webhook but opts out with the annotation form", () => {
    const outcome = istioAdmissionOutcome(
      revisions,
      nsName,
      { "istio-injection": "enabled" },
      pod({ annotations: { "sidecar.istio.io/inject": "false" } }),
    );
    expect(outcome.revision).toBe("default");
    expect(outcome.revision !== undefined && outcome.decision.inject).toBe(false);
  });

  it("does not route a revision label when only the default revision is installed", () => {
    expect(
      istioAdmissionOutcome(["default"], nsName, { "istio.io/rev": "1-24" }, pod()).revision,
    ).toBeUndefined();
  });
});
