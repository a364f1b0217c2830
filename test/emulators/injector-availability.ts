// Ties each injector's socket to its Deployment: replicas 0 (or no Deployment)
// closes the socket, replicas > 0 listens again on the same port. The webhook
// configuration's serving annotation says which, once the socket has changed.
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from "@kubernetes/client-node";
import type { InjectorEndpoint } from "./admission-server.ts";
import { type Watched, watchResource } from "./informers.ts";
import { createKeyedQueue } from "./keyed-queue.ts";
import { isNotFound } from "./kube-helpers.ts";
import { errorMessage, type Logger } from "./log.ts";
import { INJECTOR_DOWN_ANNOTATION, OBSERVED_GENERATION_ANNOTATION, SERVING_ANNOTATION } from "./names.ts";

export interface Injector {
  server: InjectorEndpoint;
  deploymentNamespace: string;
  deploymentName: string;
  webhookConfigName: string;
}

/**
 * Up when the Deployment exists, is not being deleted, wants at least one replica, and is not
 * annotated injector-down (the process stopped behind an available Deployment).
 */
export function injectorShouldServe(deployment: V1Deployment | undefined): boolean {
  if (!deployment || deployment.metadata?.deletionTimestamp) return false;
  if (deployment.metadata?.annotations?.[INJECTOR_DOWN_ANNOTATION] === "true") return false;
  return (deployment.spec?.replicas ?? 1) > 0;
}

export interface InjectorAvailability {
  stop(): Promise<void>;
}

export async function startInjectorAvailability(
  kc: KubeConfig,
  injectors: readonly Injector[],
  log: Logger,
): Promise<InjectorAvailability> {
  const apps = kc.makeApiClient(AppsV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const byKey = new Map(injectors.map((i) => [`${i.deploymentNamespace}/${i.deploymentName}`, i]));
  const caches = new Map<string, Watched<V1Deployment>>();
  const annotated = new Map<string, string>();

  const reconcile = async (key: string) => {
    const injector = byKey.get(key);
    if (!injector) return;
    const cache = caches.get(injector.deploymentNamespace);
    if (!cache) return; // not watching yet; the initial pass covers it
    const deployment = cache.cache.get(injector.deploymentName, injector.deploymentNamespace);
    const up = injectorShouldServe(deployment);
    await injector.server.setServing(up);
    const annotations = {
      [SERVING_ANNOTATION]: String(up),
      [OBSERVED_GENERATION_ANNOTATION]: String(deployment?.metadata?.generation ?? 0),
    };
    const state = JSON.stringify(annotations);
    if (annotated.get(key) === state) return;
    try {
      await admission.patchMutatingWebhookConfiguration(
        { name: injector.webhookConfigName, body: { metadata: { annotations } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      annotated.set(key, state);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      log.error("webhook configuration missing; not annotating", { webhook: injector.webhookConfigName });
    }
  };

  const queue = createKeyedQueue(reconcile, (key, error) =>
    log.error("injector availability reconcile failed; retrying", {
      injector: key,
      error: errorMessage(error),
    }),
  );

  for (const namespace of new Set(injectors.map((i) => i.deploymentNamespace))) {
    const watched = await watchResource<V1Deployment>(
      kc,
      `/apis/apps/v1/namespaces/${namespace}/deployments`,
      () => apps.listNamespacedDeployment({ namespace }),
      (deployment) => queue.add(`${deployment.metadata?.namespace}/${deployment.metadata?.name}`),
      log,
    );
    caches.set(namespace, watched);
  }
  for (const key of byKey.keys()) queue.add(key);
  await queue.idle();

  return {
    stop: async () => {
      queue.stop();
      await Promise.all([...caches.values()].map((c) => c.stop()));
    },
  };
}
