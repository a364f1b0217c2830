// Istio's real istiod as the test cluster's sidecar injector: one pilot-discovery
// process per revision on loopback ports, fed the ConfigMaps and the
// MutatingWebhookConfiguration that Istio's own installer renders for the
// minimal profile (scripts/meshes/build-istio.sh builds both binaries). The
// webhook is rewritten to call the process at https://127.0.0.1:PORT/inject.
//
// Order matters: install() first, then setServing(true). istiod only serves
// /inject if its istio-sidecar-injector[-rev] ConfigMap exists when it starts.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type {
  KubernetesObject,
  KubernetesObjectApi,
  V1ConfigMap,
  V1Deployment,
  V1MutatingWebhookConfiguration,
  V1Namespace,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { freePort } from "../cluster/processes.ts";
import type { InjectorEndpoint } from "../emulators/admission-server.ts";
import { apply } from "../emulators/kube-helpers.ts";
import type { Logger } from "../emulators/log.ts";
import {
  DEFAULT_ISTIO_REVISION,
  ISTIO_NAMESPACE,
  istiodDeploymentName,
  istioWebhookConfigName,
  MANAGED_LABEL,
} from "../emulators/names.ts";
import type { ServingTls } from "../emulators/tls.ts";
import { createInjectorProcess } from "./injector-process.ts";

const INJECT_PATH = "/inject";
const run = promisify(execFile);

export interface RealIstioOptions {
  /** Directory holding pilot-discovery and istio-render (last line of scripts/meshes/build-istio.sh). */
  binDir: string;
  kubeconfig: string;
  /** Per-revision working directories, certificate files and logs go here. */
  stateDir: string;
  /** Serving certificate for 127.0.0.1 (IP SAN) and the CA that signed it. */
  tls: ServingTls;
  /** "default" first, then further revisions such as "1-24". */
  revisions: string[];
  /** Inject istio-proxy as a native sidecar (an init container with restartPolicy Always). */
  nativeSidecars: boolean;
  log: Logger;
}

export interface RealIstio {
  /** One endpoint per revision; setServing(true) starts that revision's istiod, false stops it. */
  endpoints: Map<string, InjectorEndpoint>;
  /**
   * Server-side applies, per revision, the rendered istio[-rev] and istio-sidecar-injector[-rev]
   * ConfigMaps in istio-system (and the namespace) and the MutatingWebhookConfiguration
   * istio-sidecar-injector[-rev] pointing at the revision's loopback port.
   */
  install(objects: KubernetesObjectApi): Promise<void>;
  /** Stops every istiod process. */
  stop(): Promise<void>;
}

interface Rendered {
  configMaps: V1ConfigMap[];
  webhook: V1MutatingWebhookConfiguration;
  deployment: V1Deployment;
}

/** Runs istio-render for one revision and picks out what injection needs. */
async function render(binDir: string, revision: string): Promise<Rendered> {
  const args = ["--profile", "minimal", "--revision", revision];
  const { stdout } = await run(join(binDir, "istio-render"), args, { maxBuffer: 64 * 1024 * 1024 });
  const objects = parseAllDocuments(stdout)
    .map((document) => document.toJS() as KubernetesObject | null)
    .filter((object): object is KubernetesObject => object !== null && typeof object === "object");
  const find = <T extends KubernetesObject>(kind: string, name: string, namespace?: string): T => {
    const found = objects.find(
      (o) => o.kind === kind && o.metadata?.name === name && o.metadata?.namespace === namespace,
    );
    if (!found) throw new Error(`istio-render --revision ${revision} rendered no ${kind} ${name}`);
    return found as T;
  };
  const suffix = revision === DEFAULT_ISTIO_REVISION ? "" : `-${revision}`;
  return {
    configMaps: [
      find<V1ConfigMap>("ConfigMap", `istio${suffix}`, ISTIO_NAMESPACE),
      find<V1ConfigMap>("ConfigMap", `istio-sidecar-injector${suffix}`, ISTIO_NAMESPACE),
    ],
    webhook: find<V1MutatingWebhookConfiguration>(
      "MutatingWebhookConfiguration",
      istioWebhookConfigName(revision),
    ),
    deployment: find<V1Deployment>("Deployment", istiodDeploymentName(revision), ISTIO_NAMESPACE),
  };
}

function withManagedLabel<T extends KubernetesObject>(object: T): T {
  return {
    ...object,
    metadata: { ...object.metadata, labels: { ...object.metadata?.labels, [MANAGED_LABEL]: "true" } },
  };
}

/** The webhook as rendered, but calling our loopback process with our CA. */
function pointWebhookAt(
  webhook: V1MutatingWebhookConfiguration,
  url: string,
  caBundle: string,
): V1MutatingWebhookConfiguration {
  return withManagedLabel({
    ...webhook,
    webhooks: (webhook.webhooks ?? []).map((w) => ({ ...w, clientConfig: { url, caBundle } })),
  });
}

function discoveryContainer(deployment: V1Deployment) {
  const container = deployment.spec?.template.spec?.containers.find((c) => c.name === "discovery");
  if (!container) throw new Error(`rendered ${deployment.metadata?.name} has no discovery container`);
  return container;
}

function deploymentArgs(deployment: V1Deployment): string[] {
  const args = discoveryContainer(deployment).args ?? [];
  return args[0] === "discovery" ? args : ["discovery", ...args];
}

/** The plain (non-valueFrom) env a real istiod Deployment of this revision would get. */
function deploymentEnv(deployment: V1Deployment): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of discoveryContainer(deployment).env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
  }
  return env;
}

export async function prepareRealIstio(options: RealIstioOptions): Promise<RealIstio> {
  const { binDir, kubeconfig, stateDir, tls, log } = options;
  if (options.revisions[0] !== DEFAULT_ISTIO_REVISION) {
    throw new Error(`revisions must start with "${DEFAULT_ISTIO_REVISION}": ${options.revisions.join(",")}`);
  }
  mkdirSync(stateDir, { recursive: true });
  const certDir = join(stateDir, "istiod-tls");
  mkdirSync(certDir, { recursive: true });
  const certFile = join(certDir, "cert.pem");
  const keyFile = join(certDir, "key.pem");
  const caFile = join(certDir, "ca.pem");
  writeFileSync(certFile, tls.certPem);
  writeFileSync(keyFile, tls.keyPem, { mode: 0o600 });
  writeFileSync(caFile, tls.caPem);

  const endpoints = new Map<string, InjectorEndpoint>();
  const toInstall: KubernetesObject[] = [];
  const taken = new Set<number>();
  // freePort alone may hand out one port twice when asked in a row.
  const nextPort = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (taken.has(port)) continue;
      taken.add(port);
      return port;
    }
  };
  for (const revision of options.revisions) {
    const rendered = await render(binDir, revision);
    const name = istiodDeploymentName(revision);
    // Every listener on its own loopback port, fixed for the endpoint's life.
    const webhook = await nextPort();
    const http = await nextPort(); // readiness (/ready) and debug endpoints
    const grpc = await nextPort(); // plaintext xDS
    const secureGrpc = await nextPort(); // xDS over TLS and the CA
    const monitoring = await nextPort(); // metrics and pprof
    const ctrlz = await nextPort(); // ControlZ introspection
    const loopback = (port: number) => `127.0.0.1:${port}`;
    // istiod resolves ./etc/istio/config/mesh, ./var/lib/istio/inject and ./etc/cacerts against its
    // working directory: an empty one makes it read mesh and injection config from the ConfigMaps.
    const cwd = join(stateDir, name);
    mkdirSync(cwd, { recursive: true });
    endpoints.set(
      revision,
      createInjectorProcess({
        name,
        path: INJECT_PATH,
        port: webhook,
        command: join(binDir, "pilot-discovery"),
        args: [
          // As the rendered Deployment runs it ("discovery", --domain, keepalive, log level), then
          // our listeners and files; a later flag wins.
          ...deploymentArgs(rendered.deployment),
          `--kubeconfig=${kubeconfig}`,
          `--httpsAddr=${loopback(webhook)}`,
          `--httpAddr=${loopback(http)}`,
          `--grpcAddr=${loopback(grpc)}`,
          `--secureGRPCAddr=${loopback(secureGrpc)}`,
          `--monitoringAddr=${loopback(monitoring)}`,
          "--ctrlz_address=127.0.0.1",
          `--ctrlz_port=${ctrlz}`,
          `--tlsCertFile=${certFile}`,
          `--tlsKeyFile=${keyFile}`,
          `--caCertFile=${caFile}`,
          // Taking an injector down should be quick; nothing drains from loopback xDS.
          "--shutdownDuration=1s",
        ],
        env: {
          ...deploymentEnv(rendered.deployment),
          // What the pod's downward API and mounts would give it.
          POD_NAME: `${name}-local`,
          POD_NAMESPACE: ISTIO_NAMESPACE,
          SERVICE_ACCOUNT: rendered.deployment.spec?.template.spec?.serviceAccountName ?? name,
          REVISION: revision,
          KUBECONFIG: kubeconfig,
          ENABLE_NATIVE_SIDECARS: String(options.nativeSidecars),
          // We own the webhook's clientConfig (url and caBundle); istiod must not patch it.
          INJECTION_WEBHOOK_CONFIG_NAME: "",
          // No ValidatingWebhookConfiguration is installed, so nothing to keep patched.
          VALIDATION_WEBHOOK_CONFIG_NAME: "",
        },
        cwd,
        logFile: join(stateDir, `${name}.log`),
        log,
        startTimeoutMs: 90_000,
      }),
    );
    toInstall.push(
      ...rendered.configMaps.map(withManagedLabel),
      pointWebhookAt(rendered.webhook, `https://${loopback(webhook)}${INJECT_PATH}`, tls.caBundle),
    );
    log.info("istiod prepared", {
      revision,
      webhookPort: webhook,
      ports: { http, grpc, secureGrpc, monitoring, ctrlz },
    });
  }

  return {
    endpoints,
    async install(objects: KubernetesObjectApi): Promise<void> {
      const namespace: V1Namespace = {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ISTIO_NAMESPACE },
      };
      await apply(objects, namespace);
      for (const object of toInstall) await apply(objects, object);
    },
    async stop(): Promise<void> {
      await Promise.allSettled([...endpoints.values()].map((endpoint) => endpoint.setServing(false)));
    },
  };
}
