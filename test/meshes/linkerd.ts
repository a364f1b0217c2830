// Linkerd's real proxy-injector as the test cluster's Linkerd injector: the
// controller binary's proxy-injector subcommand on a loopback port, fed the
// linkerd-config values and the MutatingWebhookConfiguration that Linkerd's own
// chart renders (scripts/meshes/build-linkerd.sh builds linkerd-controller and
// linkerd-values). The webhook is rewritten to call https://127.0.0.1:PORT/.
//
// The injector reads config/values, identity/trust-roots/ca-bundle.crt and
// tls/tls.{crt,key} relative to its working directory (the build rewrites
// Linkerd's /var/run/linkerd mount base to "."), so each instance runs with its
// cwd in its own state dir. It reads no ConfigMap from the cluster; it watches
// namespaces and workloads, and it needs a pod's namespace in its cache (a pod
// in a namespace it has not seen yet is rejected with "namespace not found").
//
// Order: prepareRealLinkerd (renders, writes the files), install(), then
// endpoint.setServing(true), which resolves once the injector's caches are
// synced (its admin /ready), not merely when TLS answers.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type {
  KubernetesObject,
  KubernetesObjectApi,
  V1ConfigMap,
  V1MutatingWebhookConfiguration,
  V1Namespace,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { freePort } from "../cluster/processes.ts";
import type { InjectorEndpoint } from "../emulators/admission-server.ts";
import { apply } from "../emulators/kube-helpers.ts";
import type { Logger } from "../emulators/log.ts";
import {
  LINKERD_INJECTOR_DEPLOYMENT,
  LINKERD_NAMESPACE,
  LINKERD_WEBHOOK_CONFIG,
} from "../emulators/names.ts";
import type { ServingTls } from "../emulators/tls.ts";
import { createInjectorProcess } from "./injector-process.ts";

/** The edge release the vendored commit (b24cd4059841, edge-26.8.3 plus one fix) belongs to. */
export const REAL_LINKERD_VERSION = "edge-26.8.3";
export const REAL_LINKERD_PROXY_IMAGE = `cr.l5d.io/linkerd/proxy:${REAL_LINKERD_VERSION}`;
const CONFIG_MAP = "linkerd-config";
const INJECT_PATH = "/";
const TRUST_DOMAIN = "cluster.local";
const run = promisify(execFile);

export interface RealLinkerdOptions {
  /** Directory holding linkerd-controller and linkerd-values (last line of scripts/meshes/build-linkerd.sh). */
  binDir: string;
  kubeconfig: string;
  /** The injector's working directory: its config, trust roots, serving certificate and log. */
  stateDir: string;
  /** Serving certificate for 127.0.0.1 (IP SAN) and the CA that signed it. */
  tls: ServingTls;
  /** Chart value proxy.nativeSidecar: linkerd-proxy as an init container with restartPolicy Always. */
  nativeSidecars: boolean;
  log: Logger;
}

export interface RealLinkerd {
  /** setServing(true) starts the injector process (and waits for its caches), false stops it. */
  endpoint: InjectorEndpoint;
  /**
   * Server-side applies the chart's linkerd Namespace, its linkerd-config ConfigMap and its
   * MutatingWebhookConfiguration linkerd-proxy-injector-webhook-config, pointed at the loopback port.
   */
  install(objects: KubernetesObjectApi): Promise<void>;
  /** Stops the injector process. */
  stop(): Promise<void>;
}

interface Rendered {
  namespace: V1Namespace;
  config: V1ConfigMap;
  webhook: V1MutatingWebhookConfiguration;
}

/** Chart values the defaults are overridden with, as `helm install --set` would. */
function valueOverrides(trustAnchorsPem: string, options: RealLinkerdOptions): Record<string, unknown> {
  return {
    identityTrustDomain: TRUST_DOMAIN,
    identityTrustAnchorsPEM: trustAnchorsPem,
    proxy: { nativeSidecar: options.nativeSidecars },
    // Our own serving certificate, not the chart's generated Secret.
    proxyInjector: { externalSecret: true, caBundle: options.tls.caPem },
  };
}

/** Runs linkerd-values (the chart's templates with its defaults) and picks out what injection needs. */
async function render(binDir: string, overridesFile: string, renderedFile: string): Promise<Rendered> {
  const { stdout } = await run(
    join(binDir, "linkerd-values"),
    ["--namespace", LINKERD_NAMESPACE, "--linkerd-version", REAL_LINKERD_VERSION, "--values", overridesFile],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  writeFileSync(renderedFile, stdout);
  const objects = parseAllDocuments(stdout)
    .map((document) => document.toJS() as KubernetesObject | null)
    .filter((object): object is KubernetesObject => object !== null && typeof object === "object");
  const find = <T extends KubernetesObject>(kind: string, name: string, namespace?: string): T => {
    const found = objects.find(
      (o) => o.kind === kind && o.metadata?.name === name && o.metadata?.namespace === namespace,
    );
    if (!found) throw new Error(`linkerd-values rendered no ${kind} ${name} (see ${renderedFile})`);
    return found as T;
  };
  return {
    namespace: find<V1Namespace>("Namespace", LINKERD_NAMESPACE),
    config: find<V1ConfigMap>("ConfigMap", CONFIG_MAP, LINKERD_NAMESPACE),
    webhook: find<V1MutatingWebhookConfiguration>("MutatingWebhookConfiguration", LINKERD_WEBHOOK_CONFIG),
  };
}

/** Linkerd's identity trust anchor: an ECDSA P-256 CA, made once per state dir. */
function ensureTrustAnchors(dir: string): string {
  const key = join(dir, "ca.key");
  const cert = join(dir, "ca.crt");
  if (!existsSync(key) || !existsSync(cert)) {
    mkdirSync(dir, { recursive: true });
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        `/CN=root.linkerd.${TRUST_DOMAIN}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
  }
  return readFileSync(cert, "utf8");
}

/** Resolves true when GET http://127.0.0.1:port/ready answers 200. */
function adminReady(port: number): Promise<boolean> {
  return new Promise((resolveReady) => {
    const request = get({ host: "127.0.0.1", port, path: "/ready", timeout: 1000 }, (response) => {
      response.resume();
      resolveReady(response.statusCode === 200);
    });
    request.on("error", () => resolveReady(false));
    request.on("timeout", () => {
      request.destroy();
      resolveReady(false);
    });
  });
}

/** The webhook as rendered, but calling our loopback process with our CA. */
function pointWebhookAt(
  webhook: V1MutatingWebhookConfiguration,
  url: string,
  caBundle: string,
): V1MutatingWebhookConfiguration {
  return {
    ...webhook,
    webhooks: (webhook.webhooks ?? []).map((w) => ({ ...w, clientConfig: { url, caBundle } })),
  };
}

export async function prepareRealLinkerd(options: RealLinkerdOptions): Promise<RealLinkerd> {
  const { tls, log } = options;
  const binDir = resolve(options.binDir);
  const stateDir = resolve(options.stateDir);
  const kubeconfig = resolve(options.kubeconfig);
  mkdirSync(stateDir, { recursive: true });

  // The files the injector reads, at the paths it reads them (relative to its cwd).
  const trustAnchorsPem = ensureTrustAnchors(join(stateDir, "identity-ca"));
  mkdirSync(join(stateDir, "identity/trust-roots"), { recursive: true });
  writeFileSync(join(stateDir, "identity/trust-roots/ca-bundle.crt"), trustAnchorsPem);
  mkdirSync(join(stateDir, "tls"), { recursive: true });
  // An RSA certificate is fine: Linkerd reads RSA and ECDSA keys, and serves TLS 1.3 only.
  writeFileSync(join(stateDir, "tls/tls.crt"), tls.certPem);
  writeFileSync(join(stateDir, "tls/tls.key"), tls.keyPem, { mode: 0o600 });

  const overridesFile = join(stateDir, "values-overrides.json");
  writeFileSync(overridesFile, `${JSON.stringify(valueOverrides(trustAnchorsPem, options), null, 2)}\n`);
  const rendered = await render(binDir, overridesFile, join(stateDir, "rendered.yaml"));
  const values = rendered.config.data?.values;
  if (!values) throw new Error(`rendered ${CONFIG_MAP} has no values key`);
  mkdirSync(join(stateDir, "config"), { recursive: true });
  writeFileSync(join(stateDir, "config/values"), values);

  // Both listeners on loopback ports fixed for the endpoint's life.
  const port = await freePort();
  let adminPort = await freePort();
  while (adminPort === port) adminPort = await freePort();

  const process_ = createInjectorProcess({
    name: LINKERD_INJECTOR_DEPLOYMENT,
    path: INJECT_PATH,
    port,
    command: join(binDir, "linkerd-controller"),
    args: [
      "proxy-injector",
      `--kubeconfig=${kubeconfig}`,
      `--addr=127.0.0.1:${port}`,
      `--metrics-addr=127.0.0.1:${adminPort}`,
      `--linkerd-namespace=${LINKERD_NAMESPACE}`,
    ],
    env: {
      // How Linkerd's controller image sets the version (linkerd.io/created-by says it).
      LINKERD_CONTAINER_VERSION_OVERRIDE: REAL_LINKERD_VERSION,
    },
    cwd: stateDir,
    logFile: join(stateDir, "proxy-injector.log"),
    log,
    startTimeoutMs: 60_000,
  });

  // TLS answers before the injector's informers have synced; until then it rejects pods
  // ("namespace not found"), so serving means admin /ready says so.
  const waitUntilReady = async () => {
    const deadline = Date.now() + 60_000;
    while (process_.isServing() && !(await adminReady(adminPort))) {
      if (Date.now() > deadline) {
        throw new Error(`${LINKERD_INJECTOR_DEPLOYMENT} never became ready on 127.0.0.1:${adminPort}/ready`);
      }
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
  const url = `https://127.0.0.1:${port}${INJECT_PATH}`;
  log.info("linkerd proxy-injector prepared", { port, adminPort, stateDir, version: REAL_LINKERD_VERSION });

  return {
    endpoint,
    async install(objects: KubernetesObjectApi): Promise<void> {
      await apply(objects, rendered.namespace);
      await apply(objects, rendered.config);
      await apply(objects, pointWebhookAt(rendered.webhook, url, tls.caBundle));
    },
    stop: () => process_.setServing(false),
  };
}
