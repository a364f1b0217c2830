// The mesh host of the end-to-end tests: Istio's sidecar injector (one per
// revision) and Linkerd's proxy injector, either the meshes' own binaries run as
// child processes (--meshes=real) or our emulations (--meshes=emulated); plus,
// always emulated, istio-cni's ambient marking, the waypoint controller (Gateways of
// class istio-waypoint: waypoint-controller.ts) and the control-plane objects that
// say "installed". Wiring only; see the modules.
//
//   node test/emulators/main.ts --kubeconfig <path> --state-dir <dir> [--native-sidecars=true|false]
//        [--istio-revisions=1-24] [--meshes=real --istio-bin-dir <dir> --linkerd-bin-dir <dir>]
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, KubernetesObjectApi } from "@kubernetes/client-node";
import { prepareRealIstio } from "../meshes/istio.ts";
import { prepareRealLinkerd } from "../meshes/linkerd.ts";
import { type AdmissionServer, createAdmissionServer, type InjectorEndpoint } from "./admission-server.ts";
import { type EmulatorOptions, parseEmulatorArgs } from "./args.ts";
import { prepareRealConsul } from "./consul-injector.ts";
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
  CONSUL_INJECTOR,
  CONSUL_NAMESPACE,
  DEFAULT_ISTIO_REVISION,
  ISTIO_NAMESPACE,
  istiodDeploymentName,
  istioWebhookConfigName,
  LINKERD_INJECTOR_DEPLOYMENT,
  LINKERD_NAMESPACE,
  LINKERD_WEBHOOK_CONFIG,
} from "./names.ts";
import { removeStateFile, writeStateFile } from "./state-file.ts";
import { ensureServingTls, type ServingTls } from "./tls.ts";
import { startWaypointController } from "./waypoint-controller.ts";

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

/** The injectors of one run and how to register their webhooks: emulated, or the meshes' own. */
interface MeshInjectors {
  istio: Map<string, InjectorEndpoint>;
  linkerd: InjectorEndpoint;
  /** Consul's real injector, with --meshes=real and --consul-bin-dir only. */
  consul?: InjectorEndpoint | undefined;
  /** Applies the webhook configurations (and, for the real meshes, their ConfigMaps). */
  register(objects: KubernetesObjectApi): Promise<void>;
}

async function emulatedInjectors(
  options: EmulatorOptions,
  tls: ServingTls,
  core: CoreV1Api,
): Promise<MeshInjectors> {
  const istioRevisions = [DEFAULT_ISTIO_REVISION, ...options.istioRevisions];
  const istio = new Map<string, AdmissionServer>(
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
  const linkerd = createAdmissionServer({
    name: LINKERD_INJECTOR_DEPLOYMENT,
    tls,
    path: LINKERD_PATH,
    handler: linkerdAdmissionHandler(namespaceAnnotationsFromApi(core), options.nativeSidecars, log),
    log,
  });
  // Listen once to fix each port before the webhooks name it.
  await Promise.all([...istio.values(), linkerd].map((server) => server.setServing(true)));
  const url = (server: InjectorEndpoint) => `https://127.0.0.1:${server.port()}${server.path}`;
  return {
    istio,
    linkerd,
    async register(objects) {
      for (const [revision, server] of istio) {
        await apply(
          objects,
          istioWebhookConfiguration(revision, { url: url(server), caBundle: tls.caBundle }),
        );
      }
      await apply(objects, linkerdWebhookConfiguration({ url: url(linkerd), caBundle: tls.caBundle }));
    },
  };
}

async function realInjectors(options: EmulatorOptions, tls: ServingTls): Promise<MeshInjectors> {
  const common = {
    kubeconfig: options.kubeconfig,
    tls,
    nativeSidecars: options.nativeSidecars,
    log,
  };
  const istio = await prepareRealIstio({
    ...common,
    binDir: options.istioBinDir!,
    stateDir: join(options.stateDir, "istio"),
    revisions: [DEFAULT_ISTIO_REVISION, ...options.istioRevisions],
  });
  const linkerd = await prepareRealLinkerd({
    ...common,
    binDir: options.linkerdBinDir!,
    stateDir: join(options.stateDir, "linkerd"),
  });
  const consul = options.consulBinDir
    ? await prepareRealConsul({
        ...common,
        binDir: options.consulBinDir,
        stateDir: join(options.stateDir, "consul"),
      })
    : undefined;
  return {
    istio: istio.endpoints,
    linkerd: linkerd.endpoint,
    consul: consul?.endpoint,
    async register(objects) {
      await istio.install(objects);
      await linkerd.install(objects);
      await consul?.install(objects);
    },
  };
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

  const meshes =
    options.meshes === "real"
      ? await realInjectors(options, tls)
      : await emulatedInjectors(options, tls, core);
  const istioServers = meshes.istio;
  const linkerdServer = meshes.linkerd;
  const servers = [...istioServers.values(), linkerdServer, ...(meshes.consul ? [meshes.consul] : [])];

  await retryUntilDeadline(
    "registering control planes and webhooks",
    async () => {
      await ensureControlPlanes(objects, options.istioRevisions, log);
      await pruneIstioRevisions(kc, options.istioRevisions, log);
      await meshes.register(objects);
    },
    deadline,
  );
  // Start every injector once (a real injector that cannot start fails the whole start-up here,
  // with its log's tail); availability may stop one again right after, when its Deployment says so.
  await Promise.all(servers.map((server) => server.setServing(true)));

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
    ...(meshes.consul
      ? [
          {
            server: meshes.consul,
            deploymentNamespace: CONSUL_NAMESPACE,
            deploymentName: CONSUL_INJECTOR,
            webhookConfigName: CONSUL_INJECTOR,
          },
        ]
      : []),
  ];
  const availability = await startInjectorAvailability(kc, injectors, log);
  const cni = await startIstioCni(kc, log);
  const waypoints = await startWaypointController(kc, log);

  const istioDefault = istioServers.get(DEFAULT_ISTIO_REVISION)!;
  writeStateFile(options.stateDir, {
    pid: process.pid,
    istioPort: istioDefault.port(),
    linkerdPort: linkerdServer.port(),
    istioRevisionPorts: Object.fromEntries(
      options.istioRevisions.map((revision) => [revision, istioServers.get(revision)!.port()]),
    ),
    nativeSidecars: options.nativeSidecars,
    meshes: options.meshes,
  });
  log.info("ready", { istioPort: istioDefault.port(), linkerdPort: linkerdServer.port() });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal });
    removeStateFile(options.stateDir);
    await Promise.allSettled([availability.stop(), cni.stop(), waypoints.stop()]);
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
