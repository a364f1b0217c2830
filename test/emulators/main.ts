// Emulated service meshes for the end-to-end tests: Istio's sidecar injector (one
// per revision), Linkerd's proxy injector, istio-cni's ambient marking, and the
// control-plane objects that say "installed". Wiring only; see the modules.
//
//   node test/emulators/main.ts --kubeconfig <path> --state-dir <dir> [--native-sidecars=true|false]
//        [--istio-revisions=1-24]
import { mkdirSync } from "node:fs";
import { CoreV1Api, KubeConfig, KubernetesObjectApi } from "@kubernetes/client-node";
import { type AdmissionServer, createAdmissionServer } from "./admission-server.ts";
import { parseEmulatorArgs } from "./args.ts";
import { ensureControlPlanes, pruneIstioRevisions } from "./control-planes.ts";
import { type Injector, startInjectorAvailability } from "./injector-availability.ts";
import {
  istioAdmissionHandler,
  linkerdAdmissionHandler,
  namespaceAnnotationsFromApi,
} from "./injector-handlers.ts";
import { startIstioCni } from "./istio-cni.ts";
import { istioWebhookConfiguration } from "./istio-webhooks.ts";
import { apply } from "./kube-helpers.ts";
import { linkerdWebhookConfiguration } from "./linkerd-webhook.ts";
import { createLogger, errorMessage } from "./log.ts";
import {
  DEFAULT_ISTIO_REVISION,
  ISTIO_NAMESPACE,
  istiodDeploymentName,
  istioWebhookConfigName,
  LINKERD_INJECTOR_DEPLOYMENT,
  LINKERD_NAMESPACE,
  LINKERD_WEBHOOK_CONFIG,
} from "./names.ts";
import { removeStateFile, writeStateFile } from "./state-file.ts";
import { ensureServingTls } from "./tls.ts";

const ISTIO_PATH = "/inject";
const LINKERD_PATH = "/";
const STARTUP_DEADLINE_MS = 90_000;

const log = createLogger("emulated-meshes");

async function retryUntilDeadline<T>(what: string, action: () => Promise<T>, deadline: number): Promise<T> {
  for (;;) {
    try {
      return await action();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${errorMessage(error)}`);
      log.error(`${what} failed; retrying`, { error: errorMessage(error) });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function main(): Promise<void> {
  const options = parseEmulatorArgs(process.argv.slice(2));
  const deadline = Date.now() + STARTUP_DEADLINE_MS;
  mkdirSync(options.stateDir, { recursive: true });
  removeStateFile(options.stateDir); // a stale file from an earlier run would say "ready" too soon
  log.info("starting", { ...options });

  const tls = ensureServingTls(options.stateDir);
  const kc = new KubeConfig();
  kc.loadFromFile(options.kubeconfig);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const core = kc.makeApiClient(CoreV1Api);

  const istioRevisions = [DEFAULT_ISTIO_REVISION, ...options.istioRevisions];
  const istioServers = new Map<string, AdmissionServer>(
    istioRevisions.map((revision) => [
      revision,
      createAdmissionServer({
        name: istiodDeploymentName(revision),
        tls,
        path: ISTIO_PATH,
        handler: istioAdmissionHandler(revision, options.nativeSidecars, log),
        log,
      }),
    ]),
  );
  const linkerdServer = createAdmissionServer({
    name: LINKERD_INJECTOR_DEPLOYMENT,
    tls,
    path: LINKERD_PATH,
    handler: linkerdAdmissionHandler(namespaceAnnotationsFromApi(core), options.nativeSidecars, log),
    log,
  });
  const servers = [...istioServers.values(), linkerdServer];
  // Listen once to fix each port; availability may close a socket again right after.
  await Promise.all(servers.map((server) => server.setServing(true)));
  const url = (server: AdmissionServer) => `https://127.0.0.1:${server.port()}${server.path}`;

  await retryUntilDeadline(
    "registering control planes and webhooks",
    async () => {
      await ensureControlPlanes(objects, options.istioRevisions, log);
      await pruneIstioRevisions(kc, options.istioRevisions, log);
      for (const [revision, server] of istioServers) {
        await apply(
          objects,
          istioWebhookConfiguration(revision, { url: url(server), caBundle: tls.caBundle }),
        );
      }
      await apply(objects, linkerdWebhookConfiguration({ url: url(linkerdServer), caBundle: tls.caBundle }));
    },
    deadline,
  );

  const injectors: Injector[] = [
    ...[...istioServers].map(([revision, server]) => ({
      server,
      deploymentNamespace: ISTIO_NAMESPACE,
      deploymentName: istiodDeploymentName(revision),
      webhookConfigName: istioWebhookConfigName(revision),
    })),
    {
      server: linkerdServer,
      deploymentNamespace: LINKERD_NAMESPACE,
      deploymentName: LINKERD_INJECTOR_DEPLOYMENT,
      webhookConfigName: LINKERD_WEBHOOK_CONFIG,
    },
  ];
  const availability = await startInjectorAvailability(kc, injectors, log);
  const cni = await startIstioCni(kc, log);

  const istioDefault = istioServers.get(DEFAULT_ISTIO_REVISION)!;
  writeStateFile(options.stateDir, {
    pid: process.pid,
    istioPort: istioDefault.port(),
    linkerdPort: linkerdServer.port(),
    istioRevisionPorts: Object.fromEntries(
      options.istioRevisions.map((revision) => [revision, istioServers.get(revision)!.port()]),
    ),
    nativeSidecars: options.nativeSidecars,
  });
  log.info("ready", { istioPort: istioDefault.port(), linkerdPort: linkerdServer.port() });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal });
    removeStateFile(options.stateDir);
    await Promise.allSettled([availability.stop(), cni.stop()]);
    await Promise.allSettled(servers.map((server) => server.setServing(false)));
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

process.on("unhandledRejection", (reason) =>
  log.error("unhandled rejection", { error: errorMessage(reason) }),
);

main().catch((error: unknown) => {
  log.error("failed to start", { error: errorMessage(error), stack: (error as Error)?.stack });
  process.exit(1);
});
