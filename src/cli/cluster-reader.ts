// Reads what a plan needs from a cluster with plain LIST calls, through the user's kubeconfig.
// Nothing is ever written. A policy CRD that is not installed simply means no such objects.
import * as k8s from "@kubernetes/client-node";
import {
  POLICY_RESOURCES,
  type PolicyObjects,
  type PolicyResource,
  policyResourceName,
  policyResourcePath,
  type UnreadablePolicies,
} from "../preflight/index.ts";
import { describeApiError, statusCode } from "../runtime/api-error.ts";

export interface ClusterSnapshot {
  namespaces: k8s.V1Namespace[];
  deployments: k8s.V1Deployment[];
  statefulSets: k8s.V1StatefulSet[];
  daemonSets: k8s.V1DaemonSet[];
  webhooks: k8s.V1MutatingWebhookConfiguration[];
  policies: PolicyObjects;
  /** Policy resources this kubeconfig may not list: a blocking warning, as the operator reports it. */
  unreadablePolicies: UnreadablePolicies[];
}

/** Where a list or read failed, and why, for a user to act on. */
export class ClusterReadError extends Error {}

function describeError(error: unknown): string {
  if (error instanceof k8s.ApiException) {
    const body = typeof error.body === "string" ? error.body : JSON.stringify(error.body);
    const reason = /"message":"([^"]+)"/.exec(body)?.[1];
    return `HTTP ${error.code}${reason ? `: ${reason}` : ""}`;
  }
  if (!(error instanceof Error)) return String(error);
  // fetch reports "fetch failed" and keeps the reason (ECONNREFUSED, a TLS error...) in its cause.
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && cause !== error.message ? `${error.message} (${cause})` : error.message;
}

async function attempt<T>(what: string, server: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new ClusterReadError(`cannot ${what} from ${server}: ${describeError(error)}`);
  }
}

export class ClusterReader {
  readonly #core: k8s.CoreV1Api;
  readonly #apps: k8s.AppsV1Api;
  readonly #admission: k8s.AdmissionregistrationV1Api;
  readonly #custom: k8s.CustomObjectsApi;

  readonly #server: string;

  constructor(kubeConfig: k8s.KubeConfig) {
    this.#server = kubeConfig.getCurrentCluster()?.server ?? "the cluster";
    this.#core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.#apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
    this.#admission = kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api);
    this.#custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  }

  async snapshot(): Promise<ClusterSnapshot> {
    const [namespaces, deployments, statefulSets, daemonSets, webhooks, policies] = await Promise.all([
      attempt("list namespaces", this.#server, () => this.#core.listNamespace()),
      attempt("list deployments", this.#server, () => this.#apps.listDeploymentForAllNamespaces()),
      attempt("list statefulsets", this.#server, () => this.#apps.listStatefulSetForAllNamespaces()),
      attempt("list daemonsets", this.#server, () => this.#apps.listDaemonSetForAllNamespaces()),
      attempt("list mutatingwebhookconfigurations", this.#server, () =>
        this.#admission.listMutatingWebhookConfiguration(),
      ),
      this.#policies(),
    ]);
    const { policies: policyObjects, unreadablePolicies } = policies;
    return {
      namespaces: namespaces.items,
      deployments: deployments.items,
      statefulSets: statefulSets.items,
      daemonSets: daemonSets.items,
      webhooks: webhooks.items,
      policies: policyObjects,
      unreadablePolicies,
    };
  }

  /** Every pod of the cluster, by namespace, in one list (for checks that read every namespace's pods). */
  async allPods(): Promise<Map<string, k8s.V1Pod[]>> {
    const list = await attempt("list pods", this.#server, () => this.#core.listPodForAllNamespaces());
    const byNamespace = new Map<string, k8s.V1Pod[]>();
    for (const pod of list.items) {
      const namespace = pod.metadata?.namespace ?? "";
      const pods = byNamespace.get(namespace);
      if (pods) pods.push(pod);
      else byNamespace.set(namespace, [pod]);
    }
    return byNamespace;
  }

  /** Pods of the given namespaces (the ones the migration moves), by namespace. */
  async podsIn(namespaces: readonly string[]): Promise<Map<string, k8s.V1Pod[]>> {
    const lists = await Promise.all(
      namespaces.map((namespace) =>
        attempt(`list pods in namespace ${namespace}`, this.#server, () =>
          this.#core.listNamespacedPod({ namespace }),
        ),
      ),
    );
    return new Map(namespaces.map((namespace, index) => [namespace, lists[index]?.items ?? []]));
  }

  async #policies(): Promise<{ policies: PolicyObjects; unreadablePolicies: UnreadablePolicies[] }> {
    const unreadablePolicies: UnreadablePolicies[] = [];
    const lists = await Promise.all(
      POLICY_RESOURCES.map(async (resource) => {
        const what = `list ${policyResourceName(resource)}/${resource.version}`;
        try {
          const list = await this.#listPolicy(resource);
          return [resource.field, list.items ?? []] as const;
        } catch (error) {
          // Not installed (or not this version): the mesh has no such objects to worry about.
          if (statusCode(error) === 404) return [resource.field, []] as const;
          // Refused: unknown, not absent, and said as the operator says it (PolicyUnreadable).
          const code = statusCode(error);
          if (code === 401 || code === 403) {
            unreadablePolicies.push({
              resource: policyResourceName(resource),
              reason: describeApiError("list", policyResourcePath(resource), error),
            });
            return [resource.field, []] as const;
          }
          throw new ClusterReadError(`cannot ${what} from ${this.#server}: ${describeError(error)}`);
        }
      }),
    );
    return { policies: Object.fromEntries(lists) as PolicyObjects, unreadablePolicies };
  }

  /** One policy resource, cluster-wide; the core group's (Services) through the core client. */
  async #listPolicy(resource: PolicyResource): Promise<{ items?: unknown[] }> {
    if (resource.group === "" && resource.plural === "services")
      return this.#core.listServiceForAllNamespaces();
    return (await this.#custom.listClusterCustomObject({
      group: resource.group,
      version: resource.version,
      plural: resource.plural,
    })) as { items?: unknown[] };
  }
}
