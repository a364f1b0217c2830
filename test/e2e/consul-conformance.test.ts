// Conformance for Consul: pods admitted through Consul's own connect injector (the vendored
// consul-k8s-control-plane the mesh host runs with its chart's flags, against the server stub)
// carry what the consul driver reads, and pods it leaves alone read as on no mesh. There is no
// emulated Consul injector to compare with: the driver's reading is the other side. A server-side
// dry run admits each pod through the real mutating webhooks without creating it.
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { AdmissionregistrationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consulDriver, isConsulOwnPod } from "../../src/meshes/consul.ts";
import { meshesOfPod, podOnNoMesh } from "../../src/meshes/registry.ts";
import { waitForEmulators } from "../emulators/control.ts";
import { CONSUL_INJECTOR, CONSUL_WEBHOOK_NAMESPACE_LABEL } from "../emulators/names.ts";
import { e2eClients, uniqueName } from "../support/kube.ts";
import { waitFor } from "../support/wait.ts";

const clients = e2eClients();
const { core } = clients;
const createdNamespaces: string[] = [];
const INJECT = "consul.hashicorp.com/connect-inject";
const STATUS = "consul.hashicorp.com/connect-inject-status";

/** The mesh host runs Consul's injector only with real meshes (and not with MMO_CONSUL=0). */
const consulRuns = await clients.kc
  .makeApiClient(AdmissionregistrationV1Api)
  .readMutatingWebhookConfiguration({ name: CONSUL_INJECTOR })
  .then(() => true)
  .catch(() => false);

interface Case {
  name: string;
  pod: { labels?: Record<string, string>; annotations?: Record<string, string> };
  containers?: V1Container[];
  /** What the driver must read from the admitted pod. */
  expected: { meshes: string[]; dataplanes: string[]; native: boolean };
}

const APP: V1Container = { name: "app", image: "example.com/app:1", ports: [{ containerPort: 8080 }] };
const ADMIN: V1Container = { name: "admin", image: "example.com/admin:1", ports: [{ containerPort: 9090 }] };

const CASES: Case[] = [
  {
    // The test cluster's injectors all run native sidecars (the chart value
    // connectInject.dataplaneAsSidecarInitContainer.defaultEnabled follows the cluster's setting).
    name: "connect-inject: true injects consul-dataplane, as a native sidecar like the cluster's other injectors",
    pod: { annotations: { [INJECT]: "true" } },
    expected: { meshes: ["consul"], dataplanes: ["consul-dataplane"], native: true },
  },
  {
    name: "no annotation: the chart's -default-inject=false leaves the pod alone",
    pod: {},
    expected: { meshes: [], dataplanes: [], native: false },
  },
  {
    name: "connect-inject: false opts out",
    pod: { annotations: { [INJECT]: "false" } },
    expected: { meshes: [], dataplanes: [], native: false },
  },
  {
    name: "the per-pod native-sidecar annotation puts consul-dataplane in initContainers",
    pod: {
      annotations: { [INJECT]: "true", "consul.hashicorp.com/enable-consul-dataplane-as-sidecar": "true" },
    },
    expected: { meshes: ["consul"], dataplanes: ["consul-dataplane"], native: true },
  },
  {
    name: "a multi-port pod gets consul-dataplane-<service> per service",
    pod: {
      annotations: {
        [INJECT]: "true",
        "consul.hashicorp.com/connect-service": "web,web-admin",
        "consul.hashicorp.com/connect-service-port": "8080,9090",
        // Multi-port is refused with transparent proxy on (FACTS.md, Pod opt-in / opt-out).
        "consul.hashicorp.com/transparent-proxy": "false",
      },
    },
    containers: [APP, ADMIN],
    expected: {
      meshes: ["consul"],
      dataplanes: ["consul-dataplane-web", "consul-dataplane-web-admin"],
      native: true,
    },
  },
  {
    name: "the webhook's objectSelector keeps app: consul pods out",
    pod: { labels: { app: "consul" }, annotations: { [INJECT]: "true" } },
    expected: { meshes: [], dataplanes: [], native: false },
  },
];

function podFor(testCase: Case, namespace: string): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: uniqueName("consul-conformance"),
      namespace,
      labels: { app: "conformance", ...testCase.pod.labels },
      annotations: testCase.pod.annotations,
    },
    spec: { containers: structuredClone(testCase.containers ?? [APP]) },
  };
}

/** What the driver reads of an admitted pod. */
function driverFacts(pod: V1Pod) {
  const names = (list: Array<{ name: string }> | undefined) =>
    (list ?? []).map((c) => c.name).filter((name) => name.startsWith("consul-dataplane"));
  const native = (pod.spec?.initContainers ?? []).some(
    (c) => c.name.startsWith("consul-dataplane") && c.restartPolicy === "Always",
  );
  return {
    meshes: meshesOfPod(pod),
    dataplanes: [...names(pod.spec?.containers), ...names(pod.spec?.initContainers)],
    native,
  };
}

beforeAll(async () => {
  await waitForEmulators(clients.kc, { istioRevisions: ["1-24"], timeoutMs: 120_000 });
}, 150_000);

afterAll(async () => {
  await Promise.allSettled(createdNamespaces.map((name) => core.deleteNamespace({ name })));
});

// Skipped only outside CI (a cluster started with MMO_CONSUL=0); in CI a missing injector fails.
describe.skipIf(!consulRuns && process.env.CI !== "true")(
  "Consul's own injector and the consul driver agree",
  () => {
    beforeAll(() => {
      if (!consulRuns) {
        throw new Error(
          `no MutatingWebhookConfiguration ${CONSUL_INJECTOR}: the local cluster runs Consul's injector unless MMO_CONSUL=0`,
        );
      }
    });

    it.each(CASES.map((testCase) => [testCase.name, testCase] as const))("%s", async (_name, testCase) => {
      const namespace = uniqueName("consul-conform");
      await core.createNamespace({
        body: { metadata: { name: namespace, labels: { [CONSUL_WEBHOOK_NAMESPACE_LABEL]: "enabled" } } },
      });
      createdNamespaces.push(namespace);
      await waitFor(
        () => core.readNamespacedServiceAccount({ name: "default", namespace }).then(() => true),
        {
          timeoutMs: 30_000,
          description: `the default ServiceAccount in ${namespace}`,
        },
      );
      const admitted = await core.createNamespacedPod({
        namespace,
        body: podFor(testCase, namespace),
        dryRun: "All",
      });
      expect({ case: testCase.name, ...driverFacts(admitted) }).toEqual({
        case: testCase.name,
        ...testCase.expected,
      });
      expect(isConsulOwnPod(admitted)).toBe(false);
      if (testCase.expected.meshes.length === 0) {
        expect(podOnNoMesh(admitted)).toBe(true);
        return;
      }
      // The marks the plan is projected on are on every injected pod, as the driver declares them.
      const marks = consulDriver.memberMarks({ mesh: "consul" });
      expect(admitted.metadata?.annotations?.[STATUS]).toBe(marks.annotations[STATUS]);
      expect(admitted.metadata?.labels?.[STATUS]).toBe("injected");
      const initNames = (admitted.spec?.initContainers ?? []).map((c) => c.name);
      expect(initNames.some((name) => name.startsWith("consul-connect-inject-init"))).toBe(true);
      if (!testCase.expected.native && testCase.expected.dataplanes.length === 1) {
        expect(admitted.spec?.containers[0]?.name).toBe("consul-dataplane");
      }
      // The opt-in the driver would write on a template is the one this pod carried.
      expect(
        consulDriver.templateOptIns({ labels: {}, annotations: testCase.pod.annotations ?? {} }),
      ).toEqual([expect.objectContaining({ key: INJECT, optsIn: true })]);
    });
  },
);
