// The cluster's meshes against a real API server, the contracts the operator relies
// on: Istio's and Linkerd's injectors (their own binaries with MMO_MESHES=real, the
// default; our emulations otherwise) inject or skip exactly as documented, istio-cni
// (always emulated) marks ambient pods in place, and a downed injector fails the way
// its webhook's failure policy says.
import type { V1Container, V1Deployment, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setInjectorUp, waitForEmulators } from "../emulators/control.ts";
import { e2eClients, uniqueName } from "../support/kube.ts";
import { waitFor } from "../support/wait.ts";

const clients = e2eClients();
const MODE = process.env.E2E_MESHES ?? "real";
const { core, apps } = clients;
const createdNamespaces: string[] = [];

const ISTIO_STATUS = "sidecar.istio.io/status";
const REDIRECTION = "ambient.istio.io/redirection";

interface NamespaceSpec {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

async function namespace(prefix: string, spec: NamespaceSpec = {}): Promise<string> {
  const name = uniqueName(prefix);
  await core.createNamespace({
    body: { metadata: { name, labels: spec.labels, annotations: spec.annotations } },
  });
  createdNamespaces.push(name);
  // Pods are refused until the controller-manager has made the namespace's default ServiceAccount.
  await waitFor(
    () => core.readNamespacedServiceAccount({ name: "default", namespace: name }).then(() => true),
    {
      timeoutMs: 30_000,
      description: `the default ServiceAccount in ${name}`,
    },
  );
  return name;
}

interface PodSpec {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  containers?: V1Container[];
  initContainers?: V1Container[];
}

const app: V1Container = {
  name: "app",
  image: "example.com/app:1",
  ports: [{ containerPort: 8080, name: "http" }],
};

/** Creates a pod and returns it as admitted, i.e. after the mutating webhooks. */
async function createPod(ns: string, spec: PodSpec = {}): Promise<V1Pod> {
  return core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: uniqueName("pod"), labels: spec.labels, annotations: spec.annotations },
      spec: { containers: spec.containers ?? [app], initContainers: spec.initContainers },
    },
  });
}

function containerNames(pod: V1Pod): { init: string[]; main: string[] } {
  return {
    init: (pod.spec?.initContainers ?? []).map((c) => c.name),
    main: (pod.spec?.containers ?? []).map((c) => c.name),
  };
}

function allContainerNames(pod: V1Pod): string[] {
  const { init, main } = containerNames(pod);
  return [...init, ...main];
}

function expectIstioSidecar(pod: V1Pod, revision: string): void {
  expect(containerNames(pod).init.slice(0, 2)).toEqual(["istio-init", "istio-proxy"]);
  expect(pod.spec?.initContainers?.[1]?.restartPolicy).toBe("Always");
  expect(pod.metadata?.annotations?.["istio.io/rev"]).toBe(revision);
  expect(JSON.parse(pod.metadata?.annotations?.[ISTIO_STATUS] ?? "{}").revision).toBe(revision);
  expect(pod.metadata?.labels?.["security.istio.io/tlsMode"]).toBe("istio");
}

function expectNoIstio(pod: V1Pod): void {
  expect(allContainerNames(pod)).not.toContain("istio-proxy");
  expect(pod.metadata?.annotations?.[ISTIO_STATUS]).toBeUndefined();
}

function expectLinkerdProxy(pod: V1Pod, ns: string): void {
  expect(containerNames(pod).init.slice(0, 2)).toEqual(["linkerd-init", "linkerd-proxy"]);
  expect(pod.spec?.initContainers?.[1]?.restartPolicy).toBe("Always");
  expect(pod.metadata?.labels?.["linkerd.io/workload-ns"]).toBe(ns);
  expect(pod.metadata?.annotations?.["linkerd.io/proxy-version"]).toBeDefined();
}

function expectNoLinkerd(pod: V1Pod): void {
  expect(allContainerNames(pod)).not.toContain("linkerd-proxy");
  expect(pod.metadata?.annotations?.["linkerd.io/proxy-version"]).toBeUndefined();
}

async function runningPod(ns: string, name: string): Promise<V1Pod> {
  return waitFor(
    async () => {
      const pod = await core.readNamespacedPod({ name, namespace: ns });
      return pod.status?.phase === "Running" ? pod : undefined;
    },
    { timeoutMs: 60_000, description: `pod ${ns}/${name} Running` },
  );
}

async function deployment(
  ns: string,
  name: string,
  metadata: PodSpec,
  template: PodSpec,
): Promise<V1Deployment> {
  const labels = { app: name };
  return apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name, labels: metadata.labels, annotations: metadata.annotations },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: { ...labels, ...template.labels }, annotations: template.annotations },
          spec: { containers: [app] },
        },
      },
    },
  });
}

async function podsOf(ns: string, deploymentName: string): Promise<V1Pod[]> {
  return waitFor(
    async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${deploymentName}` });
      return pods.items.length > 0 ? pods.items : undefined;
    },
    { timeoutMs: 60_000, description: `a pod of deployment ${ns}/${deploymentName}` },
  );
}

beforeAll(async () => {
  await waitForEmulators(clients.kc, { istioRevisions: ["1-24"], timeoutMs: 120_000 });
});

afterAll(async () => {
  await Promise.allSettled(createdNamespaces.map((name) => core.deleteNamespace({ name })));
});

describe(`Istio sidecar injector (${MODE})`, () => {
  it("injects a native sidecar in a namespace labelled istio-injection=enabled", async () => {
    const ns = await namespace("istio-ns", { labels: { "istio-injection": "enabled" } });
    const pod = await createPod(ns);
    expectIstioSidecar(pod, "default");
    expect(containerNames(pod).main).toEqual(["app"]);
  });

  it("injects revision 1-24 in a namespace labelled istio.io/rev=1-24", async () => {
    const ns = await namespace("istio-rev", { labels: { "istio.io/rev": "1-24" } });
    expectIstioSidecar(await createPod(ns), "1-24");
  });

  it("lets istio-injection=enabled win over istio.io/rev", async () => {
    const ns = await namespace("istio-both", {
      labels: { "istio-injection": "enabled", "istio.io/rev": "1-24" },
    });
    expectIstioSidecar(await createPod(ns), "default");
  });

  it("injects a pod labelled sidecar.istio.io/inject=true in an unlabelled namespace, and nothing else there", async () => {
    const ns = await namespace("istio-optin");
    expectIstioSidecar(await createPod(ns, { labels: { "sidecar.istio.io/inject": "true" } }), "default");
    expectNoIstio(await createPod(ns));
    // Only the label reaches the webhook: the annotation form alone does not opt in.
    expectNoIstio(await createPod(ns, { annotations: { "sidecar.istio.io/inject": "true" } }));
  });

  it("honours the pod opt-out in an injection namespace, as label or annotation", async () => {
    const ns = await namespace("istio-optout", { labels: { "istio-injection": "enabled" } });
    expectNoIstio(await createPod(ns, { labels: { "sidecar.istio.io/inject": "false" } }));
    expectNoIstio(await createPod(ns, { annotations: { "sidecar.istio.io/inject": "false" } }));
    expectNoIstio(
      await createPod(ns, {
        labels: { "sidecar.istio.io/inject": "false" },
        annotations: { "sidecar.istio.io/inject": "true" },
      }),
    );
  });

  it("rejects pods it would inject while istiod is down (failurePolicy Fail)", async () => {
    const injected = await namespace("istio-down", { labels: { "istio-injection": "enabled" } });
    const plain = await namespace("istio-down-plain");
    await setInjectorUp(clients.kc, "istio", false);
    try {
      await expect(createPod(injected)).rejects.toThrow(/sidecar-injector\.istio\.io/);
      expectNoIstio(await createPod(plain));
    } finally {
      await setInjectorUp(clients.kc, "istio", true);
    }
    expectIstioSidecar(await createPod(injected), "default");
  });
});

describe(`Linkerd proxy injector (${MODE})`, () => {
  it("injects in a namespace annotated linkerd.io/inject=enabled unless the pod disables it", async () => {
    const ns = await namespace("l5d-ns", { annotations: { "linkerd.io/inject": "enabled" } });
    const pod = await createPod(ns);
    expectLinkerdProxy(pod, ns);
    expect(pod.metadata?.labels?.["linkerd.io/control-plane-ns"]).toBe("linkerd");
    expectNoLinkerd(await createPod(ns, { annotations: { "linkerd.io/inject": "disabled" } }));
  });

  it("injects a Deployment whose pod template carries the annotation, naming the Deployment", async () => {
    const ns = await namespace("l5d-template");
    await deployment(ns, "web", {}, { annotations: { "linkerd.io/inject": "enabled" } });
    const [pod] = await podsOf(ns, "web");
    if (!pod) throw new Error("no pod");
    expectLinkerdProxy(pod, ns);
    expect(pod.metadata?.labels?.["linkerd.io/proxy-deployment"]).toBe("web");
  });

  it("ignores the annotation on Deployment metadata", async () => {
    const ns = await namespace("l5d-metadata");
    await deployment(ns, "web", { annotations: { "linkerd.io/inject": "enabled" } }, {});
    const [pod] = await podsOf(ns, "web");
    if (!pod) throw new Error("no pod");
    expectNoLinkerd(pod);
  });

  it("refuses a pod that already carries an Istio proxy", async () => {
    const ns = await namespace("l5d-refuse", { annotations: { "linkerd.io/inject": "enabled" } });
    const pod = await createPod(ns, {
      containers: [app, { name: "istio-proxy", image: "example.com/proxyv2:1" }],
      initContainers: [{ name: "istio-init", image: "example.com/proxyv2:1" }],
    });
    expectNoLinkerd(pod);
    expect(containerNames(pod)).toEqual({ init: ["istio-init"], main: ["app", "istio-proxy"] });
  });

  it("lets pods start unmeshed while the injector is down (failurePolicy Ignore)", async () => {
    const ns = await namespace("l5d-down", { annotations: { "linkerd.io/inject": "enabled" } });
    await setInjectorUp(clients.kc, "linkerd", false);
    try {
      const pod = await createPod(ns);
      expectNoLinkerd(pod);
      expect(containerNames(pod)).toEqual({ init: [], main: ["app"] });
    } finally {
      await setInjectorUp(clients.kc, "linkerd", true);
    }
    expectLinkerdProxy(await createPod(ns), ns);
  });
});

describe("emulated istio-cni (ambient)", () => {
  it("marks running pods when their namespace enrols, without restarting them, and unmarks them when it leaves", async () => {
    const ns = await namespace("ambient");
    const created = await createPod(ns);
    const optedOut = await createPod(ns, { labels: { "istio.io/dataplane-mode": "none" } });
    const before = await runningPod(ns, created.metadata?.name ?? "");
    await runningPod(ns, optedOut.metadata?.name ?? "");
    expect(before.metadata?.annotations?.[REDIRECTION]).toBeUndefined();

    await core.patchNamespace({
      name: ns,
      body: [{ op: "add", path: "/metadata/labels/istio.io~1dataplane-mode", value: "ambient" }],
    });
    const enrolled = await waitFor(
      async () => {
        const pod = await core.readNamespacedPod({ name: before.metadata?.name ?? "", namespace: ns });
        return pod.metadata?.annotations?.[REDIRECTION] === "enabled" ? pod : undefined;
      },
      { timeoutMs: 30_000, description: "the redirection annotation" },
    );
    expect(enrolled.metadata?.uid).toBe(before.metadata?.uid);
    expect(enrolled.status?.containerStatuses?.every((s) => (s.restartCount ?? 0) === 0)).toBe(true);
    const stillOut = await core.readNamespacedPod({ name: optedOut.metadata?.name ?? "", namespace: ns });
    expect(stillOut.metadata?.annotations?.[REDIRECTION]).toBeUndefined();

    await core.patchNamespace({
      name: ns,
      body: [{ op: "remove", path: "/metadata/labels/istio.io~1dataplane-mode" }],
    });
    const released = await waitFor(
      async () => {
        const pod = await core.readNamespacedPod({ name: before.metadata?.name ?? "", namespace: ns });
        return pod.metadata?.annotations?.[REDIRECTION] === undefined ? pod : undefined;
      },
      { timeoutMs: 30_000, description: "the redirection annotation to go" },
    );
    expect(released.metadata?.uid).toBe(before.metadata?.uid);
  });

  it("captures a Linkerd-injected pod in an ambient namespace: the double-mesh hazard is real", async () => {
    const ns = await namespace("ambient-l5d", {
      labels: { "istio.io/dataplane-mode": "ambient" },
      annotations: { "linkerd.io/inject": "enabled" },
    });
    const pod = await createPod(ns);
    expectLinkerdProxy(pod, ns);
    await waitFor(
      async () => {
        const current = await core.readNamespacedPod({ name: pod.metadata?.name ?? "", namespace: ns });
        return current.metadata?.annotations?.[REDIRECTION] === "enabled";
      },
      { timeoutMs: 60_000, description: "the Linkerd pod to be captured by ambient" },
    );
  });

  it("never marks an Istio sidecar pod", async () => {
    const ns = await namespace("ambient-sidecar", {
      labels: { "istio.io/dataplane-mode": "ambient", "istio-injection": "enabled" },
    });
    const sidecar = await createPod(ns);
    expectIstioSidecar(sidecar, "default");
    await runningPod(ns, sidecar.metadata?.name ?? "");
    // istio-cni handles pods in event order: once a later plain pod is marked, it has judged the sidecar pod.
    const plain = await createPod(ns, { labels: { "sidecar.istio.io/inject": "false" } });
    await waitFor(
      async () => {
        const current = await core.readNamespacedPod({ name: plain.metadata?.name ?? "", namespace: ns });
        return current.metadata?.annotations?.[REDIRECTION] === "enabled";
      },
      { timeoutMs: 60_000, description: "the plain pod to be captured" },
    );
    const current = await core.readNamespacedPod({ name: sidecar.metadata?.name ?? "", namespace: ns });
    expect(current.metadata?.annotations?.[REDIRECTION]).toBeUndefined();
  });
});
