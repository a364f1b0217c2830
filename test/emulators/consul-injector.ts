// Consul's real connect injector as the test cluster's Consul injector: the vendored
// consul-k8s-control-plane's inject-connect subcommand (scripts/meshes/build-consul.sh) on a
// loopback port, run with the flags and env its Helm chart renders for the injector Deployment,
// and registered with the chart's MutatingWebhookConfiguration pointed at that port. The chart
// is rendered by helm from the vendored charts/consul (scripts/tools/build-helm.sh) with the
// values a Helm install would use (global.name=consul, release consul in namespace consul).
// The Consul server it needs is the stub in consul-server-stub.ts: the only emulated part.
//
// Order: prepareRealConsul (renders, writes the certificate, starts the server stub), install(),
// then endpoint.setServing(true), which resolves once the injector's health port says ready.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join, resolve } from "node:path";
import type {
  KubernetesObject,
  KubernetesObjectApi,
  V1Deployment,
  V1EnvVar,
  V1MutatingWebhookConfiguration,
  V1Namespace,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { freePort } from "../cluster/processes.ts";
import { createInjectorProcess } from "../meshes/injector-process.ts";
import type { InjectorEndpoint } from "./admission-server.ts";
import { startConsulServerStub } from "./consul-server-stub.ts";
import { apply, createIfMissing } from "./kube-helpers.ts";
import type { Logger } from "./log.ts";
import { CONSUL_INJECTOR, CONSUL_NAMESPACE, CONSUL_WEBHOOK_NAMESPACE_LABEL } from "./names.ts";
import type { ServingTls } from "./tls.ts";

const RELEASE = "consul";
/** Fixed by the injector (command.go L434-435): health on 9445, metrics on 9444. */
const HEALTH_PORT = 9445;
const INJECT_PATH = "/mutate";
const REPO_ROOT = resolve(import.meta.dirname, "../..");

export interface RealConsulOptions {
  /** Directory holding consul-k8s-control-plane (last line of scripts/meshes/build-consul.sh). */
  binDir: string;
  kubeconfig: string;
  /** The injector's state: rendered chart, certificate, log. */
  stateDir: string;
  tls: ServingTls;
  /** Chart value connectInject.dataplaneAsSidecarInitContainer.defaultEnabled. */
  nativeSidecars: boolean;
  log: Logger;
}

export interface RealConsul {
  endpoint: InjectorEndpoint;
  /** The CRDs the injector's controllers watch, the consul Namespace, its Deployment and webhook. */
  install(objects: KubernetesObjectApi): Promise<void>;
  stop(): Promise<void>;
}

/** The vendored source as the build extracted it (charts/consul and control-plane/config). */
function sourceDir(binDir: string): string {
  const commit = /consul-k8s-([0-9a-f]{12})$/.exec(resolve(binDir))?.[1];
  if (!commit) throw new Error(`${binDir} is not a bin dir of scripts/meshes/build-consul.sh`);
  return join(binDir, "../../src", `consul-k8s-${commit}`);
}

function helmBinary(): string {
  const out = execFileSync("bash", [join(REPO_ROOT, "scripts/tools/build-helm.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return join(out.trim().split("\n").pop() ?? "", "helm");
}

interface Rendered {
  deployment: V1Deployment;
  webhook: V1MutatingWebhookConfiguration;
}

function valuesFile(renderedFile: string): string {
  const file = `${renderedFile}.values.yaml`;
  writeFileSync(
    file,
    `connectInject:\n  namespaceSelector: |\n    matchLabels:\n      ${CONSUL_WEBHOOK_NAMESPACE_LABEL}: enabled\n`,
  );
  return file;
}

/** helm template of the injector's Deployment and webhook, with the values of a plain install. */
function render(chart: string, nativeSidecars: boolean, renderedFile: string): Rendered {
  const stdout = execFileSync(
    helmBinary(),
    [
      "template",
      RELEASE,
      chart,
      `--namespace=${CONSUL_NAMESPACE}`,
      "--set=global.name=consul",
      "--set=connectInject.enabled=true",
      `--set=connectInject.dataplaneAsSidecarInitContainer.defaultEnabled=${nativeSidecars}`,
      `--values=${valuesFile(renderedFile)}`,
      "--show-only=templates/connect-inject-deployment.yaml",
      "--show-only=templates/connect-inject-mutatingwebhookconfiguration.yaml",
    ],
    { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
  );
  writeFileSync(renderedFile, stdout);
  const objects = parseAllDocuments(stdout)
    .map((document) => document.toJS() as KubernetesObject | null)
    .filter((object): object is KubernetesObject => object !== null && typeof object === "object");
  const find = <T>(kind: string): T => {
    const found = objects.find((o) => o.kind === kind && o.metadata?.name === CONSUL_INJECTOR);
    if (!found)
      throw new Error(`the consul chart rendered no ${kind} ${CONSUL_INJECTOR} (see ${renderedFile})`);
    return found as T;
  };
  return { deployment: find("Deployment"), webhook: find("MutatingWebhookConfiguration") };
}

/**
 * The flags of the chart's `exec consul-k8s-control-plane inject-connect \ ...` script, one per
 * line, with the shell's quotes removed.
 */
export function chartFlags(script: string): string[] {
  return script
    .split("\n")
    .map((line) => line.trim().replace(/\\$/, "").trim())
    .filter((line) => line.startsWith("-"))
    .map((flag) => flag.replace(/^(-[^=]+=)"(.*)"$/, "$1$2"));
}

/** Flags that name paths or listeners inside the injector's pod, replaced for a loopback process. */
const POD_LOCAL_FLAGS = ["-config-file", "-listen", "-tls-cert-dir"];

function injectorFlags(deployment: V1Deployment, port: number, certDir: string): string[] {
  const container = deployment.spec?.template.spec?.containers.find((c) => c.name === "sidecar-injector");
  const script = container?.command?.at(-1) ?? "";
  const flags = chartFlags(script).filter((flag) => !POD_LOCAL_FLAGS.includes(flag.split("=")[0] ?? ""));
  if (flags.length === 0) throw new Error("the consul chart's injector command has no flags");
  return [...flags, `-listen=127.0.0.1:${port}`, `-tls-cert-dir=${certDir}`];
}

/** The chart's literal env, with the server address pointed at the stub and the pod fields filled in. */
function injectorEnv(
  deployment: V1Deployment,
  stub: { grpcPort: number; httpPort: number },
  kubeconfig: string,
) {
  const container = deployment.spec?.template.spec?.containers.find((c) => c.name === "sidecar-injector");
  const literal = (container?.env ?? []).filter((e: V1EnvVar) => e.value !== undefined);
  return {
    ...Object.fromEntries(literal.map((e) => [e.name, e.value ?? ""])),
    CONSUL_ADDRESSES: "127.0.0.1",
    CONSUL_GRPC_PORT: String(stub.grpcPort),
    CONSUL_HTTP_PORT: String(stub.httpPort),
    NAMESPACE: CONSUL_NAMESPACE,
    POD_NAME: `${CONSUL_INJECTOR}-0`,
    // The build makes the injector's clientset load this too (it wanted in-cluster credentials).
    KUBECONFIG: kubeconfig,
  };
}

/** Every webhook of the chart's configuration, calling our loopback process at its own path. */
function pointWebhookAt(
  webhook: V1MutatingWebhookConfiguration,
  port: number,
  caBundle: string,
): V1MutatingWebhookConfiguration {
  return {
    ...webhook,
    webhooks: (webhook.webhooks ?? []).map((w) => ({
      ...w,
      clientConfig: {
        url: `https://127.0.0.1:${port}${w.clientConfig.service?.path ?? INJECT_PATH}`,
        caBundle,
      },
    })),
  };
}

/** The CRDs the controllers watch; Gateway API ones only where missing (the cluster serves newer ones). */
function crdFiles(source: string): { apply: string[]; ifMissing: string[] } {
  const dir = (sub: string) => join(source, "control-plane/config/crd", sub);
  const yaml = (sub: string) =>
    readdirSync(dir(sub))
      .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
      .map((f) => join(dir(sub), f));
  const external = yaml("external");
  return {
    apply: [...yaml("bases"), ...external.filter((f) => !f.includes("gateway.networking.k8s.io"))],
    // The local cluster installs the real Gateway API CRDs (v1.6.3) first; Consul's older copies
    // would be refused by their safe-upgrades policy (a create is admitted before it is found to exist).
    ifMissing: [],
  };
}

function objectsOf(file: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null && typeof o === "object" && o.kind !== undefined);
}

/** Resolves true when the injector's health port says ready (the chart's startup probe). */
function healthReady(): Promise<boolean> {
  return new Promise((resolveReady) => {
    const request = get(
      { host: "127.0.0.1", port: HEALTH_PORT, path: "/readyz/ready", timeout: 1000 },
      (r) => {
        r.resume();
        resolveReady(r.statusCode === 200);
      },
    );
    request.on("error", () => resolveReady(false));
    request.on("timeout", () => {
      request.destroy();
      resolveReady(false);
    });
  });
}

/** A stand-in for the chart's injector Deployment: the driver's readiness and the availability controller read it. */
function injectorDeployment(rendered: V1Deployment): V1Deployment {
  const labels = { app: "consul", component: "connect-injector" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: CONSUL_INJECTOR, namespace: CONSUL_NAMESPACE, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: "sidecar-injector",
              image:
                rendered.spec?.template.spec?.containers[0]?.image ?? "hashicorp/consul-k8s-control-plane",
              resources: { requests: { cpu: "10m", memory: "32Mi" } },
            },
          ],
          tolerations: [{ operator: "Exists" }],
        },
      },
    },
  };
}

export async function prepareRealConsul(options: RealConsulOptions): Promise<RealConsul> {
  const { tls, log } = options;
  const binDir = resolve(options.binDir);
  const stateDir = resolve(options.stateDir);
  const source = sourceDir(binDir);
  mkdirSync(stateDir, { recursive: true });

  const rendered = render(
    join(source, "charts/consul"),
    options.nativeSidecars,
    join(stateDir, "rendered.yaml"),
  );
  const certDir = join(stateDir, "certs");
  mkdirSync(certDir, { recursive: true });
  writeFileSync(join(certDir, "tls.crt"), tls.certPem);
  writeFileSync(join(certDir, "tls.key"), tls.keyPem, { mode: 0o600 });

  const stub = await startConsulServerStub(binDir, join(stateDir, "consul-server-stub.log"), log);
  const port = await freePort();
  const args = ["inject-connect", ...injectorFlags(rendered.deployment, port, certDir)];
  writeFileSync(join(stateDir, "args.json"), `${JSON.stringify(args, null, 2)}\n`);
  const process_ = createInjectorProcess({
    name: CONSUL_INJECTOR,
    path: INJECT_PATH,
    port,
    command: join(binDir, "consul-k8s-control-plane"),
    args,
    env: injectorEnv(rendered.deployment, stub, resolve(options.kubeconfig)),
    cwd: stateDir,
    logFile: join(stateDir, "connect-injector.log"),
    log,
    startTimeoutMs: 90_000,
  });

  const waitUntilReady = async () => {
    const deadline = Date.now() + 90_000;
    while (process_.isServing() && !(await healthReady())) {
      if (Date.now() > deadline) throw new Error(`${CONSUL_INJECTOR} never became ready on :${HEALTH_PORT}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const endpoint: InjectorEndpoint = {
    name: process_.name,
    path: process_.path,
    port: () => port,
    isServing: () => process_.isServing(),
    async setServing(up: boolean): Promise<void> {
      await process_.setServing(up);
      if (up) await waitUntilReady();
    },
  };
  log.info("consul connect injector prepared", {
    port,
    stateDir,
    stub: { grpc: stub.grpcPort, http: stub.httpPort },
  });

  const crds = crdFiles(source);
  return {
    endpoint,
    async install(objects: KubernetesObjectApi): Promise<void> {
      for (const file of crds.apply) for (const crd of objectsOf(file)) await apply(objects, crd);
      for (const file of crds.ifMissing)
        for (const crd of objectsOf(file)) await createIfMissing(objects, crd);
      const namespace: V1Namespace = {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: CONSUL_NAMESPACE },
      };
      await createIfMissing(objects, namespace);
      await createIfMissing(objects, injectorDeployment(rendered.deployment));
      await apply(objects, pointWebhookAt(rendered.webhook, port, tls.caBundle));
    },
    async stop() {
      await process_.setServing(false);
      await stub.stop();
    },
  };
}
