// Conformance: the same namespaces and pod templates go through the cluster's injectors (Istio's
// own istiod and Linkerd's own proxy-injector when MMO_MESHES=real, the default) and through the
// emulators' pure injection code; the facts the operator reads from the result must agree. A
// server-side dry run admits each pod through the real mutating webhooks without creating it.
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driverFor, meshesOfPod } from "../../src/meshes/registry.ts";
import { waitForEmulators } from "../emulators/control.ts";
import { injectIstioSidecar } from "../emulators/istio-injector.ts";
import { istioAdmissionOutcome } from "../emulators/istio-webhooks.ts";
import { decideLinkerdInjection, injectLinkerdProxy } from "../emulators/linkerd-injector.ts";
import { e2eClients, uniqueName } from "../support/kube.ts";
import { waitFor } from "../support/wait.ts";

const clients = e2eClients();
const { core } = clients;
const createdNamespaces: string[] = [];
const REVISIONS = ["default", "1-24"];
const MODE = process.env.E2E_MESHES ?? "real";

interface Case {
  name: string;
  namespace: { labels?: Record<string, string>; annotations?: Record<string, string> };
  pod?: { labels?: Record<string, string>; annotations?: Record<string, string>; hostNetwork?: boolean };
  containers?: V1Container[];
}

const APP: V1Container = { name: "app", image: "example.com/app:1", ports: [{ containerPort: 8080 }] };
const ISTIO_STUB: V1Container = { name: "istio-proxy", image: "example.com/proxyv2:stub" };

const CASES: Case[] = [
  { name: "istio-injection=enabled", namespace: { labels: { "istio-injection": "enabled" } } },
  { name: "istio.io/rev=1-24", namespace: { labels: { "istio.io/rev": "1-24" } } },
  {
    name: "istio-injection beats istio.io/rev",
    namespace: { labels: { "istio-injection": "enabled", "istio.io/rev": "1-24" } },
  },
  {
    name: "pod label sidecar.istio.io/inject=false opts out",
    namespace: { labels: { "istio-injection": "enabled" } },
    pod: { labels: { "sidecar.istio.io/inject": "false" } },
  },
  {
    name: "pod label sidecar.istio.io/inject=true opts in",
    namespace: {},
    pod: { labels: { "sidecar.istio.io/inject": "true" } },
  },
  {
    name: "pod label istio.io/rev=1-24 opts in to that revision",
    namespace: {},
    pod: { labels: { "istio.io/rev": "1-24" } },
  },
  {
    name: "sidecar.istio.io/nativeSidecar=false gives a classic istio-proxy container",
    namespace: { labels: { "istio-injection": "enabled" } },
    pod: { annotations: { "sidecar.istio.io/nativeSidecar": "false" } },
  },
  {
    name: "Linkerd's native-sidecar config annotation false gives a classic linkerd-proxy container",
    namespace: { annotations: { "linkerd.io/inject": "enabled" } },
    pod: { annotations: { "config.alpha.linkerd.io/proxy-enable-native-sidecar": "false" } },
  },
  {
    name: "Linkerd's stable native-sidecar annotation beats the alpha one",
    namespace: { annotations: { "linkerd.io/inject": "enabled" } },
    pod: {
      annotations: {
        "config.linkerd.io/proxy-enable-native-sidecar": "false",
        "config.alpha.linkerd.io/proxy-enable-native-sidecar": "true",
      },
    },
  },
  {
    name: "hostNetwork pods are not injected",
    namespace: { labels: { "istio-injection": "enabled" } },
    pod: { hostNetwork: true },
  },
  {
    name: "linkerd.io/inject=enabled on the namespace",
    namespace: { annotations: { "linkerd.io/inject": "enabled" } },
  },
  {
    name: "pod annotation linkerd.io/inject=disabled opts out",
    namespace: { annotations: { "linkerd.io/inject": "enabled" } },
    pod: { annotations: { "linkerd.io/inject": "disabled" } },
  },
  {
    name: "pod annotation linkerd.io/inject=enabled opts in",
    namespace: {},
    pod: { annotations: { "linkerd.io/inject": "enabled" } },
  },
  {
    name: "Linkerd skips a pod that already runs istio-proxy",
    namespace: { annotations: { "linkerd.io/inject": "enabled" } },
    containers: [APP, ISTIO_STUB],
  },
  {
    name: "a namespace marked for both: Istio injects first, Linkerd then refuses",
    namespace: { labels: { "istio-injection": "enabled" }, annotations: { "linkerd.io/inject": "enabled" } },
  },
];

const MESH_KEY = /(^|\.)(istio\.io|linkerd\.io)\//;

/**
 * What the operator reads from an admitted pod: membership, the revision, container and
 * init-container names with their restart policies, and every mesh label and annotation key
 * (values only for the labels it keys on; versions, digests and images are left out).
 */
function operatorFacts(pod: V1Pod) {
  const annotations = pod.metadata?.annotations ?? {};
  const labels = pod.metadata?.labels ?? {};
  const meshKeys = (from: Record<string, string>) =>
    Object.keys(from)
      .filter((key) => MESH_KEY.test(key))
      .sort();
  const keyedOn = [
    "security.istio.io/tlsMode",
    "istio.io/rev",
    "linkerd.io/control-plane-ns",
    "sidecar.istio.io/inject",
  ];
  return {
    meshes: meshesOfPod(pod),
    istioRevision: driverFor("istio").podRevision?.(pod),
    initContainers: (pod.spec?.initContainers ?? []).map(
      (c) => `${c.name}${c.restartPolicy ? `(${c.restartPolicy})` : ""}`,
    ),
    containers: (pod.spec?.containers ?? []).map((c) => c.name),
    annotationKeys: meshKeys(annotations),
    labelKeys: meshKeys(labels),
    labels: Object.fromEntries(keyedOn.filter((key) => key in labels).map((key) => [key, labels[key]])),
  };
}

function podFor(testCase: Case, namespace: string): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: uniqueName("conformance"),
      namespace,
      labels: { app: "conformance", ...testCase.pod?.labels },
      annotations: testCase.pod?.annotations,
    },
    spec: {
      containers: structuredClone(testCase.containers ?? [APP]),
      hostNetwork: testCase.pod?.hostNetwork,
    },
  };
}

/** The emulators' answer: webhooks in the API server's order (by configuration name), Istio then Linkerd. */
function emulatedAdmission(testCase: Case, namespace: string, pod: V1Pod): V1Pod {
  let admitted = pod;
  const labels = { "kubernetes.io/metadata.name": namespace, ...testCase.namespace.labels };
  const istio = istioAdmissionOutcome(REVISIONS, namespace, labels, admitted);
  if (istio.revision !== undefined && istio.decision.inject) {
    admitted = injectIstioSidecar(admitted, { revision: istio.revision, nativeSidecars: true, namespace });
  }
  const namespaceAnnotations = testCase.namespace.annotations ?? {};
  if (decideLinkerdInjection(admitted, namespaceAnnotations).inject) {
    admitted = injectLinkerdProxy(admitted, { namespace, namespaceAnnotations, nativeSidecars: true });
  }
  return admitted;
}

beforeAll(async () => {
  await waitForEmulators(clients.kc, { istioRevisions: ["1-24"], timeoutMs: 120_000 });
}, 150_000);

afterAll(async () => {
  await Promise.allSettled(createdNamespaces.map((name) => core.deleteNamespace({ name })));
});

describe(`injection conformance: the cluster's injectors (${MODE}) and the emulators agree on what the operator reads`, () => {
  it.each(CASES.map((testCase) => [testCase.name, testCase] as const))("%s", async (_name, testCase) => {
    const namespace = uniqueName("conform");
    await core.createNamespace({
      body: {
        metadata: {
          name: namespace,
          labels: testCase.namespace.labels,
          annotations: testCase.namespace.annotations,
        },
      },
    });
    createdNamespaces.push(namespace);
    await waitFor(() => core.readNamespacedServiceAccount({ name: "default", namespace }).then(() => true), {
      timeoutMs: 30_000,
      description: `the default ServiceAccount in ${namespace}`,
    });
    const pod = podFor(testCase, namespace);
    const real = await core.createNamespacedPod({ namespace, body: structuredClone(pod), dryRun: "All" });
    const emulated = emulatedAdmission(testCase, namespace, pod);
    // toEqual prints a readable diff of the two fact sets when they disagree.
    expect({ case: testCase.name, ...operatorFacts(real) }).toEqual({
      case: testCase.name,
      ...operatorFacts(emulated),
    });
  });
});
