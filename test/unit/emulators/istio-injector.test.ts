// The emulated Istio injector against Istio's own kube-inject goldens.
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { applyPodPatch, podPatch } from "../../emulators/admission.ts";
import {
  decideIstioInjection,
  ISTIO_STATUS_ANNOTATION,
  injectIstioSidecar,
} from "../../emulators/istio-injector.ts";
import { ISTIO_PROXY_IMAGE } from "../../emulators/names.ts";
import { deploymentPod, pod, statefulSetPod, withoutLabel } from "./admission-pods.ts";
import { fixturePod, names } from "./fixtures.ts";

const native = { revision: "default", nativeSidecars: true, namespace: "default" };
const classic = { ...native, nativeSidecars: false };

function container(list: V1Container[] | undefined, name: string): V1Container {
  const found = list?.find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

function env(c: V1Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

describe("Istio injection shaped like the goldens", () => {
  const input = fixturePod("istio-sidecar/hello.yaml");
  const golden = fixturePod("istio-sidecar/hello.yaml.injected");
  const injected = injectIstioSidecar(deploymentPod(input, "hello"), native);

  it("puts istio-init then a native istio-proxy in initContainers and leaves containers alone", () => {
    expect(names(injected.spec?.initContainers)).toEqual(names(golden.spec?.initContainers));
    expect(names(injected.spec?.initContainers)).toEqual(["istio-init", "istio-proxy"]);
    expect(names(injected.spec?.containers)).toEqual(names(golden.spec?.containers));
    expect(container(injected.spec?.initContainers, "istio-proxy").restartPolicy).toBe("Always");
    expect(container(injected.spec?.initContainers, "istio-init").restartPolicy).toBeUndefined();
  });

  it("writes the status annotation exactly as the golden does", () => {
    const ours = injected.metadata?.annotations?.[ISTIO_STATUS_ANNOTATION];
    const theirs = golden.metadata?.annotations?.[ISTIO_STATUS_ANNOTATION];
    expect(ours).toBe(theirs);
    expect(Object.keys(JSON.parse(ours ?? "{}"))).toEqual([
      "initContainers",
      "containers",
      "volumes",
      "imagePullSecrets",
      "revision",
    ]);
  });

  it("adds the volumes the status annotation names, in its order", () => {
    expect(names(injected.spec?.volumes)).toEqual(names(golden.spec?.volumes));
  });

  it("carries the golden's labels and annotations", () => {
    expect(withoutLabel(injected.metadata?.labels, "pod-template-hash")).toEqual(golden.metadata?.labels);
    expect(injected.metadata?.annotations).toEqual(golden.metadata?.annotations);
  });

  it("names the owning Deployment in the proxy's metadata and uses the release image", () => {
    const ours = container(injected.spec?.initContainers, "istio-proxy");
    const theirs = container(golden.spec?.initContainers, "istio-proxy");
    expect(env(ours, "ISTIO_META_OWNER")).toBe(env(theirs, "ISTIO_META_OWNER"));
    expect(env(ours, "ISTIO_META_WORKLOAD_NAME")).toBe("hello");
    expect(env(ours, "ISTIO_META_APP_CONTAINERS")).toBe("hello");
    expect(ours.image).toBe(ISTIO_PROXY_IMAGE);
    expect(ours.ports).toEqual(theirs.ports);
    expect(names(ours.volumeMounts as Array<{ name: string }>)).toEqual(
      names(theirs.volumeMounts as Array<{ name: string }>),
    );
  });

  it("does not change its input", () => {
    const original = deploymentPod(input, "hello");
    const copy = structuredClone(original);
    injectIstioSidecar(original, native);
    expect(original).toEqual(copy);
  });
});

describe("Istio injection next to a user's native sidecar", () => {
  const golden = fixturePod("istio-sidecar/native-sidecar.yaml.injected");
  const input: V1Pod = {
    metadata: { name: "hello" },
    spec: {
      containers: [{ name: "hello", image: "fake.docker.io/google-samples/hello-go-gke:1.0" }],
      initContainers: [{ name: "other-sidecar", image: "fake.docker.io/other:1", restartPolicy: "Always" }],
    },
  };
  const injected = injectIstioSidecar(input, native);

  it("places istio-init and istio-proxy before the user's init containers", () => {
    expect(names(injected.spec?.initContainers)).toEqual(names(golden.spec?.initContainers));
    expect(names(injected.spec?.initContainers)).toEqual(["istio-init", "istio-proxy", "other-sidecar"]);
  });

  it("derives canonical labels from the pod name when the pod has no app label", () => {
    expect(injected.metadata?.labels).toEqual(golden.metadata?.labels);
    expect(injected.metadata?.annotations?.[ISTIO_STATUS_ANNOTATION]).toBe(
      golden.metadata?.annotations?.[ISTIO_STATUS_ANNOTATION],
    );
  });
});

describe("classic (non-native) Istio injection", () => {
  const golden = fixturePod("istio-sidecar/statefulset-old-version.yaml.injected");
  const input: V1Pod = {
    metadata: { labels: { app: "hello", tier: "backend", track: "stable" } },
    spec: { containers: [{ name: "hello", image: "fake.docker.io/google-samples/hello-go-gke:1.0" }] },
  };
  const injected = injectIstioSidecar(statefulSetPod(input, "hello"), classic);

  it("appends istio-proxy last to containers, with only istio-init as init container", () => {
    expect(names(injected.spec?.containers)).toEqual(names(golden.spec?.containers));
    expect(names(injected.spec?.containers)).toEqual(["hello", "istio-proxy"]);
    expect(names(injected.spec?.initContainers)).toEqual(["istio-init"]);
    expect(container(injected.spec?.containers, "istio-proxy").restartPolicy).toBeUndefined();
  });

  it("records the classic placement in the status annotation", () => {
    expect(injected.metadata?.annotations?.[ISTIO_STATUS_ANNOTATION]).toBe(
      golden.metadata?.annotations?.[ISTIO_STATUS_ANNOTATION],
    );
    const proxy = container(injected.spec?.containers, "istio-proxy");
    const theirs = container(golden.spec?.containers, "istio-proxy");
    expect(env(proxy, "ISTIO_META_OWNER")).toBe(env(theirs, "ISTIO_META_OWNER"));
  });

  it("keeps user init containers after istio-init", () => {
    const withInit = pod({ initContainers: ["migrate"] });
    expect(names(injectIstioSidecar(withInit, classic).spec?.initContainers)).toEqual([
      "istio-init",
      "migrate",
    ]);
  });

  it("follows the pod's sidecar.istio.io/nativeSidecar annotation over the mesh default", () => {
    const golden = fixturePod("istio-sidecar/native-sidecar-opt-out.yaml.injected");
    const optOut = pod({ annotations: { "sidecar.istio.io/nativeSidecar": "false" }, containers: ["hello"] });
    const injected = injectIstioSidecar(optOut, native);
    expect(names(injected.spec?.containers)).toEqual(names(golden.spec?.containers));
    expect(names(injected.spec?.initContainers)).toEqual(names(golden.spec?.initContainers));
    const optIn = pod({ annotations: { "sidecar.istio.io/nativeSidecar": "true" } });
    expect(names(injectIstioSidecar(optIn, classic).spec?.initContainers)).toEqual([
      "istio-init",
      "istio-proxy",
    ]);
  });
});

describe("Istio revision and existing metadata", () => {
  it("annotates the injecting revision", () => {
    const injected = injectIstioSidecar(pod(), { ...native, revision: "1-24" });
    expect(injected.metadata?.annotations?.["istio.io/rev"]).toBe("1-24");
    expect(JSON.parse(injected.metadata?.annotations?.[ISTIO_STATUS_ANNOTATION] ?? "{}").revision).toBe(
      "1-24",
    );
  });

  it("keeps canonical labels and the default container the user already set", () => {
    const injected = injectIstioSidecar(
      pod({
        labels: { "service.istio.io/canonical-name": "shop", version: "v2" },
        annotations: { "kubectl.kubernetes.io/default-container": "sidecar-helper" },
        containers: ["app", "sidecar-helper"],
      }),
      native,
    );
    expect(injected.metadata?.labels?.["service.istio.io/canonical-name"]).toBe("shop");
    expect(injected.metadata?.labels?.["service.istio.io/canonical-revision"]).toBe("v2");
    expect(injected.metadata?.annotations?.["kubectl.kubernetes.io/default-container"]).toBe(
      "sidecar-helper",
    );
  });

  it("produces a JSONPatch that turns the admitted pod into the injected one", () => {
    const admitted = deploymentPod(fixturePod("istio-sidecar/hello.yaml"), "hello");
    const injected = injectIstioSidecar(admitted, native);
    expect(applyPodPatch(admitted, podPatch(admitted, injected))).toEqual(injected);
  });
});

describe("Istio injector decisions for pods the webhook selectors let through", () => {
  const cases: Array<{ name: string; pod: V1Pod; namespace?: string; inject: boolean }> = [
    { name: "no opinion: injection policy is enabled", pod: pod(), inject: true },
    { name: "label inject=true", pod: pod({ labels: { "sidecar.istio.io/inject": "true" } }), inject: true },
    {
      name: "annotation inject=false",
      pod: pod({ annotations: { "sidecar.istio.io/inject": "false" } }),
      inject: false,
    },
    {
      name: "label inject=false",
      pod: pod({ labels: { "sidecar.istio.io/inject": "false" } }),
      inject: false,
    },
    {
      name: "label false beats annotation true",
      pod: pod({
        labels: { "sidecar.istio.io/inject": "false" },
        annotations: { "sidecar.istio.io/inject": "true" },
      }),
      inject: false,
    },
    {
      name: "label true beats annotation false",
      pod: pod({
        labels: { "sidecar.istio.io/inject": "true" },
        annotations: { "sidecar.istio.io/inject": "false" },
      }),
      inject: true,
    },
    { name: "annotation yes", pod: pod({ annotations: { "sidecar.istio.io/inject": "yes" } }), inject: true },
    {
      name: "unknown value opts out",
      pod: pod({ annotations: { "sidecar.istio.io/inject": "maybe" } }),
      inject: false,
    },
    { name: "host network", pod: pod({ hostNetwork: true }), inject: false },
    { name: "kube-system is ignored", pod: pod(), namespace: "kube-system", inject: false },
    { name: "already has istio-proxy", pod: pod({ containers: ["app", "istio-proxy"] }), inject: false },
    { name: "already has native istio-proxy", pod: pod({ initContainers: ["istio-proxy"] }), inject: false },
    {
      name: "already has a status annotation",
      pod: pod({ annotations: { [ISTIO_STATUS_ANNOTATION]: "{}" } }),
      inject: false,
    },
    {
      name: "a linkerd-proxy does not stop Istio",
      pod: pod({ initContainers: ["linkerd-proxy"] }),
      inject: true,
    },
  ];
  it.each(cases)("$name → inject: $inject", ({ pod, namespace, inject }) => {
    expect(decideIstioInjection(pod, namespace ?? "shop").inject).toBe(inject);
  });
});
