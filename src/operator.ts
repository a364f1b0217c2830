// Composition of the operator: informers feed a keyed work queue; a controller
// loop reconciles one MeshMigration at a time per key; only the leader writes.
import { hostname } from "node:os";
import * as k8s from "@kubernetes/client-node";
import { GROUP, PLURAL, VERSION } from "./api/constants.ts";
import { PHASES } from "./api/schema.ts";
import { OWNER_ANNOTATION } from "./controller/bookkeeping.ts";
import {
  podShape,
  policyShape,
  webhookShape,
  withoutManagedFields,
  workloadShape,
} from "./controller/cache-shapes.ts";
import { type EnqueueContext, enqueueChange, type WatchedKind } from "./controller/enqueue.ts";
import { EventRecorder } from "./controller/events.ts";
import { faultHookFromEnv } from "./controller/fault-injection.ts";
import { GUARD_BINDING_NAME, GUARD_POLICY_NAME } from "./controller/guard.ts";
import { ensureGuard, GUARD_KEY } from "./controller/guard-reconciler.ts";
import {
  type ClusterCaches,
  type MeshMigrationObject,
  MigrationReconciler,
} from "./controller/reconciler.ts";
import { POLICY_RESOURCES, policyResourcePath } from "./preflight/index.ts";
import { makeApiClient } from "./runtime/api-clients.ts";
import { describeApiError } from "./runtime/api-error.ts";
import { ApiProbe } from "./runtime/api-probe.ts";
import { Controller } from "./runtime/controller.ts";
import { createHealthServer } from "./runtime/health-server.ts";
import {
  createInformers,
  type InformerLifecycle,
  informerSpec,
  startInformers,
  stopInformers,
  unsyncedInformers,
} from "./runtime/informer.ts";
import { LeaderElector } from "./runtime/leader-election.ts";
import type { Logger } from "./runtime/logger.ts";
import { createMetrics } from "./runtime/metrics.ts";
import { WorkQueue } from "./runtime/workqueue.ts";

export interface OperatorOptions {
  kubeConfig: k8s.KubeConfig;
  log: Logger;
  identity?: string;
  healthHost: string;
  healthPort: number;
  leaderElection: boolean;
  leaderElectionNamespace: string;
  /** Name of the Lease; operators sharing a cluster with different selectors need different ones. */
  leaderElectionId: string;
  /** Lease timing (client-go's defaults: 15 s, 10 s, 2 s). */
  leaseTiming?: { leaseDurationSeconds: number; renewDeadlineSeconds: number; retryPeriodSeconds: number };
  /** Only reconcile MeshMigrations whose labels match (to run several operators side by side). */
  migrationSelector?: string | undefined;
  workers: number;
}

export interface RunningOperator {
  healthPort: number;
  stop: () => Promise<void>;
}

const CONTROLLER_NAME = "meshmigration";

/**
 * The operator, in the order it comes up: caches, the work queue and what feeds it, the
 * reconciler, the health server, then the controller (at once, or once this process leads).
 */
export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { kubeConfig: kc, log } = options;
  const identity = options.identity ?? `${hostname()}-${process.pid}`;
  const metrics = createMetrics({ knownPhases: PHASES });
  const { informers, policyInformers } = clusterInformers(kc, options.migrationSelector, log);
  const caches: ClusterCaches = { ...informers, policies: policyInformers };
  const queue = new WorkQueue<string>({ name: CONTROLLER_NAME, observer: metrics.workQueueObserver() });
  const allMigrations = () => caches.migrations.list().map((m) => m.metadata?.name ?? "");
  enqueueOnChanges(informers, policyInformers, queue, allMigrations);

  let elector: LeaderElector | undefined;
  /** Checked before every write: without leader election this process is the only writer. */
  const leading = () => elector === undefined || elector.isLeader();
  const reconciler = migrationReconciler(kc, caches, metrics, identity, log, leading);
  const admission = makeApiClient(kc, k8s.AdmissionregistrationV1Api);
  const guard = { policies: informers.guardPolicies, bindings: informers.guardBindings };

  let controller: Controller<string> | undefined;
  const startController = async () => {
    controller = new Controller<string>({
      name: CONTROLLER_NAME,
      queue,
      workers: options.workers,
      reconcile: async (key) => {
        if (key !== GUARD_KEY) return reconciler.reconcile(key);
        if (leading() && (await ensureGuard(admission, guard))) {
          log.info("applied the double-mesh guard (ValidatingAdmissionPolicy and binding)");
        }
        return {};
      },
      // Every cache, mesh policies included, before the first write: a plan made from an empty
      // policy cache would skip the blocking preflight checks. A CRD that is not installed counts
      // as synced and empty; a list that is refused (401/403) counts as known, and becomes a
      // blocking PolicyUnreadable warning on each migration instead of "no policies".
      waitFor: [...Object.values(informers), ...Object.values(policyInformers).map(syncedOrRefused)],
      metrics: metrics.reconcileObserver(),
      logger: log,
    });
    const started = controller.start();
    // Everything known at start gets one reconcile, whatever the events were.
    queue.add(GUARD_KEY);
    for (const name of allMigrations()) queue.add(name);
    await started;
  };

  const apiProbe = new ApiProbe(kc);
  apiProbe.start();
  const health = await startHealthServer(options, metrics, [informers, policyInformers], apiProbe, log);
  log.info({ healthPort: health.port, identity }, "health server listening");
  logScope(options.migrationSelector, log);
  await startInformers(informers);
  void startInformers(policyInformers);

  let stopping = false;
  if (options.leaderElection) {
    elector = leaderElector(options, identity, metrics, {
      onStartedLeading: () => void startController(),
      onStoppedLeading: async () => {
        if (!stopping) {
          // Leadership lost while running: exit at once, without waiting for in-flight work, so
          // this process cannot write beside the new leader (as controller-runtime does); its
          // supervisor (the Deployment) starts it again as a follower.
          log.error({ identity }, "lost the leadership; exiting");
          process.exit(1);
        }
        await controller?.stop({ timeoutMs: 20_000 });
      },
    });
  } else {
    await startController();
  }

  return {
    healthPort: health.port,
    stop: async () => {
      stopping = true;
      await elector?.stop();
      await controller?.stop({ timeoutMs: 20_000 });
      queue.shutDown();
      await stopInformers(informers);
      await stopInformers(policyInformers);
      apiProbe.stop();
      await health.close(5_000);
    },
  };
}

/**
 * The caches the planner reads, and the mesh policy objects for the preflight (POLICY_RESOURCES),
 * whose CRDs may not be installed: an absent CRD simply means no objects, noticed once installed.
 * Each object is cached in the shape its readers need (cache-shapes.ts): pods, workloads and the
 * bulkier mesh objects cut down to what the planner reads, everything else without managedFields.
 */
function clusterInformers(kc: k8s.KubeConfig, migrationSelector: string | undefined, log: Logger) {
  const informers = createInformers(
    kc,
    {
      migrations: informerSpec<MeshMigrationObject>(
        `/apis/${GROUP}/${VERSION}/${PLURAL}`,
        migrationSelector ? { labelSelector: migrationSelector } : {},
      ),
      namespaces: informerSpec<k8s.V1Namespace>("/api/v1/namespaces"),
      pods: informerSpec<k8s.V1Pod>("/api/v1/pods", { transform: podShape }),
      deployments: informerSpec<k8s.V1Deployment>("/apis/apps/v1/deployments", { transform: workloadShape }),
      statefulSets: informerSpec<k8s.V1StatefulSet>("/apis/apps/v1/statefulsets", {
        transform: workloadShape,
      }),
      daemonSets: informerSpec<k8s.V1DaemonSet>("/apis/apps/v1/daemonsets", { transform: workloadShape }),
      webhooks: informerSpec<k8s.V1MutatingWebhookConfiguration>(
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        { transform: webhookShape },
      ),
      guardPolicies: informerSpec<k8s.V1ValidatingAdmissionPolicy>(
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
        { fieldSelector: `metadata.name=${GUARD_POLICY_NAME}` },
      ),
      guardBindings: informerSpec<k8s.V1ValidatingAdmissionPolicyBinding>(
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
        { fieldSelector: `metadata.name=${GUARD_BINDING_NAME}` },
      ),
    },
    { logger: log, transform: withoutManagedFields },
  );
  const policyInformers = createInformers(
    kc,
    Object.fromEntries(
      POLICY_RESOURCES.map((resource) => [
        resource.field,
        informerSpec<k8s.KubernetesObject>(policyResourcePath(resource), {
          transform: policyShape(resource.field),
        }),
      ]),
    ),
    { logger: log, backoff: { maxMs: 120_000 }, transform: withoutManagedFields },
  );
  return { informers, policyInformers };
}

type ClusterInformers = ReturnType<typeof clusterInformers>;

/**
 * Every change queues the migrations it concerns, Pod and workload bursts coalesced per key (and
 * the guard's objects queue the guard).
 */
function enqueueOnChanges(
  informers: ClusterInformers["informers"],
  policyInformers: ClusterInformers["policyInformers"],
  queue: WorkQueue<string>,
  allMigrations: () => string[],
): void {
  const context: EnqueueContext = {
    allMigrations,
    namespaceOwner: (ns) => informers.namespaces.get(ns)?.metadata?.annotations?.[OWNER_ANNOTATION],
  };
  const watch = (
    kind: WatchedKind,
    informer: { onChange(handler: (obj: k8s.KubernetesObject) => void): unknown },
  ) => informer.onChange((obj) => enqueueChange(queue, kind, obj, context));
  watch("MeshMigration", informers.migrations);
  watch("Namespace", informers.namespaces);
  watch("Pod", informers.pods);
  watch("Workload", informers.deployments);
  watch("Workload", informers.statefulSets);
  watch("Workload", informers.daemonSets);
  watch("Webhook", informers.webhooks);
  for (const informer of Object.values(policyInformers)) watch("MeshPolicy", informer);
  informers.guardPolicies.onChange(() => queue.add(GUARD_KEY));
  informers.guardBindings.onChange(() => queue.add(GUARD_KEY));
}

/** A policy cache that is synced, or whose list is refused: either way, known. */
function syncedOrRefused(informer: InformerLifecycle): { hasSynced(): boolean } {
  return { hasSynced: () => informer.hasSynced() || informer.refusal?.() !== undefined };
}

/** The reconciler with its clients, Events and per-migration gauges. */
function migrationReconciler(
  kc: k8s.KubeConfig,
  caches: ClusterCaches,
  metrics: ReturnType<typeof createMetrics>,
  identity: string,
  log: Logger,
  leading: () => boolean,
): MigrationReconciler {
  const core = makeApiClient(kc, k8s.CoreV1Api);
  return new MigrationReconciler({
    caches,
    clients: {
      core,
      apps: makeApiClient(kc, k8s.AppsV1Api),
      custom: makeApiClient(kc, k8s.CustomObjectsApi),
    },
    events: new EventRecorder(makeApiClient(kc, k8s.EventsV1Api), identity, (error) =>
      log.warn(`${describeApiError("write", "an Event", error)}; the step it reports went ahead`),
    ),
    log,
    afterStep: faultHookFromEnv(),
    stillLeading: leading,
    observeStatus: (name, status) => {
      if (!status) {
        metrics.forgetMigration(name);
        return;
      }
      metrics.setMigrationPhase(name, status.phase);
      const counts: Record<string, number> = {};
      for (const ns of status.namespaces) counts[ns.phase] = (counts[ns.phase] ?? 0) + 1;
      metrics.setMigrationNamespaces(name, counts);
      metrics.setDoubleMeshedPods(name, status.doubleMeshedPods);
      metrics.setMigrationConditions(name, status.conditions);
    },
  });
}

/** /healthz, /readyz (ready once every cache has synced and while the API server answers) and /metrics. */
async function startHealthServer(
  options: OperatorOptions,
  metrics: ReturnType<typeof createMetrics>,
  informerSets: ReadonlyArray<Record<string, InformerLifecycle>>,
  apiProbe: ApiProbe,
  log: Logger,
): Promise<{ port: number; close: (timeoutMs: number) => Promise<void> }> {
  const health = createHealthServer({
    host: options.healthHost,
    port: options.healthPort,
    registry: metrics.registry,
    logger: log,
    readiness: () => {
      const unsynced = informerSets.flatMap((set) =>
        unsyncedInformers(set).filter((name) => set[name]?.refusal?.() === undefined),
      );
      if (unsynced.length > 0) return { ready: false, reason: `caches not synced: ${unsynced.join(", ")}` };
      const unreachable = apiProbe.problem();
      return unreachable === undefined ? true : { ready: false, reason: unreachable };
    },
  });
  const { port } = await health.start();
  return { port, close: (timeoutMs) => health.close(timeoutMs) };
}

function logScope(migrationSelector: string | undefined, log: Logger): void {
  log.info(
    { migrationSelector: migrationSelector ?? null },
    migrationSelector
      ? `handling only MeshMigrations labelled ${migrationSelector}; others get no status from this operator`
      : "handling every MeshMigration in the cluster",
  );
}

/** Leader election on the Lease; a Lease that cannot be had as configured exits with one line. */
function leaderElector(
  options: OperatorOptions,
  identity: string,
  metrics: ReturnType<typeof createMetrics>,
  callbacks: { onStartedLeading: () => void; onStoppedLeading: () => Promise<void> },
): LeaderElector {
  const { log } = options;
  const elector = new LeaderElector({
    kubeConfig: options.kubeConfig,
    namespace: options.leaderElectionNamespace,
    name: options.leaderElectionId,
    identity,
    ...options.leaseTiming,
    logger: log,
    metrics: metrics.leaderStatusObserver(),
    onStartedLeading: () => {
      log.info({ identity }, "became the leader; starting the controller");
      callbacks.onStartedLeading();
    },
    onStoppedLeading: callbacks.onStoppedLeading,
    onNewLeader: (leader: string) => log.info({ leader }, "the leader is %s", leader),
  });
  elector.run().catch((error: unknown) => {
    log.fatal(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
  return elector;
}
