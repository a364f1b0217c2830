// istio-cni's part in ambient mode: mark running, enrolled pods with
// ambient.istio.io/redirection=enabled and unmark them when they leave, in
// place (no restart). Only while ambient is installed (ztunnel + istio-cni-node).
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1DaemonSet,
  type V1Namespace,
  type V1Pod,
} from "@kubernetes/client-node";
import { type Watched, watchResource } from "./informers.ts";
import { ISTIO_STATUS_ANNOTATION } from "./istio-injector.ts";
import { createKeyedQueue } from "./keyed-queue.ts";
import { isNotFound } from "./kube-helpers.ts";
import type { Labels } from "./label-selector.ts";
import { errorMessage, type Logger } from "./log.ts";
import { ISTIO_NAMESPACE } from "./names.ts";

export const REDIRECTION_ANNOTATION = "ambient.istio.io/redirection";
export const DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode";
export const AMBIENT_DAEMONSETS = ["ztunnel", "istio-cni-node"] as const;

/** Enrolled by labels: pod label wins (none opts out), else the namespace label. Sidecar pods never are. */
export function isAmbientEnrolled(pod: V1Pod, namespaceLabels: Labels): boolean {
  if (pod.metadata?.annotations?.[ISTIO_STATUS_ANNOTATION] !== undefined) return false;
  if (pod.spec?.hostNetwork) return false;
  const podMode = pod.metadata?.labels?.[DATAPLANE_MODE_LABEL];
  if (podMode === "none") return false;
  if (podMode === "ambient") return true;
  return namespaceLabels[DATAPLANE_MODE_LABEL] === "ambient";
}

export type RedirectionChange = "enable" | "remove" | "keep";

/** What istio-cni does to this pod's redirection annotation now. */
export function redirectionChange(pod: V1Pod, namespaceLabels: Labels): RedirectionChange {
  const marked = pod.metadata?.annotations?.[REDIRECTION_ANNOTATION] !== undefined;
  if (!isAmbientEnrolled(pod, namespaceLabels)) return marked ? "remove" : "keep";
  const running = pod.status?.phase === "Running" && !pod.metadata?.deletionTimestamp;
  if (running && pod.metadata?.annotations?.[REDIRECTION_ANNOTATION] !== "enabled") return "enable";
  return "keep";
}

export interface IstioCniController {
  stop(): Promise<void>;
}

export async function startIstioCni(kc: KubeConfig, log: Logger): Promise<IstioCniController> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  let pods: Watched<V1Pod> | undefined;
  let namespaces: Watched<V1Namespace> | undefined;
  let daemonSets: Watched<V1DaemonSet> | undefined;

  const installed = () =>
    daemonSets !== undefined &&
    AMBIENT_DAEMONSETS.every((name) => daemonSets?.cache.get(name, ISTIO_NAMESPACE));

  const reconcile = async (key: string) => {
    const [namespace = "", name = ""] = key.split("/");
    const pod = pods?.cache.get(name, namespace);
    if (!pod || !installed()) return;
    const namespaceLabels = namespaces?.cache.get(namespace)?.metadata?.labels ?? {};
    const change = redirectionChange(pod, namespaceLabels);
    if (change === "keep") return;
    const value = change === "enable" ? "enabled" : null;
    try {
      await core.patchNamespacedPod(
        { name, namespace, body: { metadata: { annotations: { [REDIRECTION_ANNOTATION]: value } } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      log.info(change === "enable" ? "ambient: pod captured" : "ambient: pod released", { pod: key });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  };

  const queue = createKeyedQueue(reconcile, (key, error) =>
    log.error("ambient reconcile failed; retrying", { pod: key, error: errorMessage(error) }),
  );
  const podKey = (pod: V1Pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const enqueuePods = (namespace?: string) => {
    for (const pod of pods?.cache.list(namespace) ?? []) queue.add(podKey(pod));
  };

  namespaces = await watchResource<V1Namespace>(
    kc,
    "/api/v1/namespaces",
    () => core.listNamespace(),
    (ns, change) => {
      if (change !== "delete" && ns.metadata?.name) enqueuePods(ns.metadata.name);
    },
    log,
  );
  daemonSets = await watchResource<V1DaemonSet>(
    kc,
    `/apis/apps/v1/namespaces/${ISTIO_NAMESPACE}/daemonsets`,
    () => apps.listNamespacedDaemonSet({ namespace: ISTIO_NAMESPACE }),
    () => enqueuePods(),
    log,
  );
  pods = await watchResource<V1Pod>(
    kc,
    "/api/v1/pods",
    () => core.listPodForAllNamespaces(),
    (pod, change) => {
      if (change !== "delete") queue.add(podKey(pod));
    },
    log,
  );
  enqueuePods();
  await queue.idle();
  log.info("istio-cni emulation running", { ambientInstalled: installed() });

  return {
    stop: async () => {
      queue.stop();
      await Promise.all([pods?.stop(), namespaces?.stop(), daemonSets?.stop()]);
    },
  };
}
