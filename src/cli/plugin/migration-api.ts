// Every call the plugin makes to the apiserver, through the user's kubeconfig: read one or all
// MeshMigrations, merge-patch a spec (conditional on the resourceVersion read), list a namespace's
// workloads and pods, and watch a migration and the namespaces it is moving. Objects are the
// apiserver's JSON, as the informers deliver them.
import type * as k8s from "@kubernetes/client-node";
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { GROUP, PLURAL, VERSION } from "../../api/constants.ts";
import { makeApiClient } from "../../runtime/api-clients.ts";
import { describeApiError, statusCode } from "../../runtime/api-error.ts";
import {
  createInformers,
  informerSpec,
  listCollection,
  ResilientInformer,
  startInformers,
  stopInformers,
} from "../../runtime/informer.ts";
import { mergePatchOptions } from "../../runtime/patch.ts";
import { kubeConfigFor } from "../plan-command.ts";
import type { Connection } from "./args.ts";
import type { SpecPatch } from "./verbs.ts";
import type { NamespaceObjects } from "./workloads.ts";

/** The plugin's writes show up under this name in managedFields and audit logs. */
export const FIELD_MANAGER = "kubectl-meshmigration";

const COLLECTION = `/apis/${GROUP}/${VERSION}/${PLURAL}`;

/** A failure a person can act on; the message says what and where. */
export class PluginApiError extends Error {}
export class MigrationNotFound extends PluginApiError {}
export class PatchConflict extends PluginApiError {}

/** What a namespace's workload level could not be read for, instead of its objects. */
export type NamespaceReading = NamespaceObjects | string;

export interface LiveMigration {
  /** Lists and starts watching the migration; resolves after the first attempt. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Whether the migration's watch has listed at least once (so undefined below means deleted). */
  synced(): boolean;
  /** The migration as last seen. */
  migration(): unknown;
  /** Watches the workloads and pods of exactly these namespaces from now on. */
  follow(namespaces: readonly string[]): void;
  /** A followed namespace's objects, once its watches have listed them. */
  objectsIn(namespace: string): NamespaceObjects | undefined;
  /** Called after any change to the migration or a followed namespace. */
  onChange(handler: () => void): void;
}

export interface MigrationApi {
  get(name: string): Promise<unknown>;
  list(): Promise<unknown[]>;
  patchSpec(name: string, patch: SpecPatch): Promise<unknown>;
  namespaceObjects(namespaces: readonly string[]): Promise<Map<string, NamespaceReading>>;
  live(name: string): LiveMigration;
}

/** The kubeconfig as the plan command loads it: --kubeconfig, else $KUBECONFIG, else ~/.kube/config. */
export function loadKubeConfig(connection: Connection): KubeConfig {
  try {
    return kubeConfigFor(connection);
  } catch (error) {
    const which = connection.kubeconfig ? ` ${connection.kubeconfig}` : "";
    throw new PluginApiError(`cannot load the kubeconfig${which}: ${(error as Error).message}`);
  }
}

/** One line: the apiserver's answer, or for a request that got none, why (fetch keeps it in cause). */
function describe(verb: string, object: string, error: unknown): string {
  const line = describeApiError(verb, object, error);
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
  return statusCode(error) === undefined && cause && !line.includes(cause) ? `${line} (${cause})` : line;
}

/** A 404 names the object when the object is missing, and nothing when the resource is not served. */
function notFoundMessage(name: string, error: unknown): string {
  const body = (error as { body?: unknown }).body;
  const text = typeof body === "string" ? body : JSON.stringify(body ?? {});
  if (text.includes(`"name":"${name}"`)) {
    return `meshmigration ${name} not found: kubectl meshmigration list shows the ones there are`;
  }
  return (
    "this cluster does not serve meshmigrations.meshmigration.io: install the CRD " +
    "(kubectl apply --server-side -f crds/) or check --context"
  );
}

function namespacePaths(namespace: string) {
  return {
    deployments: `/apis/apps/v1/namespaces/${namespace}/deployments`,
    statefulSets: `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
    daemonSets: `/apis/apps/v1/namespaces/${namespace}/daemonsets`,
    pods: `/api/v1/namespaces/${namespace}/pods`,
  };
}

export function migrationApi(kubeConfig: KubeConfig): MigrationApi {
  const custom = makeApiClient(kubeConfig, CustomObjectsApi);
  const server = kubeConfig.getCurrentCluster()?.server ?? "the cluster";
  const resource = { group: GROUP, version: VERSION, plural: PLURAL };

  const readNamespace = async (namespace: string): Promise<NamespaceReading> => {
    const paths = namespacePaths(namespace);
    try {
      const [deployments, statefulSets, daemonSets, pods] = await Promise.all([
        listCollection<k8s.V1Deployment & KubernetesObject>(kubeConfig, paths.deployments),
        listCollection<k8s.V1StatefulSet & KubernetesObject>(kubeConfig, paths.statefulSets),
        listCollection<k8s.V1DaemonSet & KubernetesObject>(kubeConfig, paths.daemonSets),
        listCollection<k8s.V1Pod & KubernetesObject>(kubeConfig, paths.pods),
      ]);
      return {
        deployments: deployments.items,
        statefulSets: statefulSets.items,
        daemonSets: daemonSets.items,
        pods: pods.items,
      };
    } catch (error) {
      // Shown in the tree where the workloads would be: the rest of the view still helps.
      return error instanceof Error ? error.message : String(error);
    }
  };

  return {
    async get(name) {
      try {
        return await custom.getClusterCustomObject({ ...resource, name });
      } catch (error) {
        if (statusCode(error) === 404) throw new MigrationNotFound(notFoundMessage(name, error));
        throw new PluginApiError(describe("get", `meshmigration ${name} from ${server}`, error));
      }
    },

    async list() {
      try {
        const list = (await custom.listClusterCustomObject(resource)) as { items?: unknown[] };
        return list.items ?? [];
      } catch (error) {
        if (statusCode(error) === 404) throw new PluginApiError(notFoundMessage("", error));
        throw new PluginApiError(describe("list", `meshmigrations from ${server}`, error));
      }
    },

    async patchSpec(name, patch) {
      try {
        return await custom.patchClusterCustomObject(
          { ...resource, name, body: patch, fieldManager: FIELD_MANAGER },
          mergePatchOptions(),
        );
      } catch (error) {
        const code = statusCode(error);
        if (code === 409) {
          throw new PatchConflict(
            `meshmigration ${name} was changed by someone else after it was read (resourceVersion ` +
              `${patch.metadata.resourceVersion}): nothing was changed. Run the command again to act on ` +
              "its spec as it is now.",
          );
        }
        if (code === 404) throw new MigrationNotFound(notFoundMessage(name, error));
        throw new PluginApiError(describe("patch", `meshmigration ${name} on ${server}`, error));
      }
    },

    async namespaceObjects(namespaces) {
      const readings = await Promise.all(namespaces.map(readNamespace));
      return new Map(namespaces.map((namespace, index) => [namespace, readings[index] ?? "not read"]));
    },

    live: (name) => new WatchedMigration(kubeConfig, name),
  };
}

type NamespaceInformers = ReturnType<typeof namespaceInformers>;

function namespaceInformers(kubeConfig: KubeConfig, namespace: string) {
  const paths = namespacePaths(namespace);
  return createInformers(kubeConfig, {
    deployments: informerSpec<k8s.V1Deployment & KubernetesObject>(paths.deployments),
    statefulSets: informerSpec<k8s.V1StatefulSet & KubernetesObject>(paths.statefulSets),
    daemonSets: informerSpec<k8s.V1DaemonSet & KubernetesObject>(paths.daemonSets),
    pods: informerSpec<k8s.V1Pod & KubernetesObject>(paths.pods),
  });
}

/** The migration and the followed namespaces, each kept by an informer (list, then watch). */
class WatchedMigration implements LiveMigration {
  readonly #kubeConfig: KubeConfig;
  readonly #migration: ResilientInformer<KubernetesObject>;
  readonly #namespaces = new Map<string, NamespaceInformers>();
  readonly #handlers = new Set<() => void>();
  readonly #name: string;
  #stopped = false;

  constructor(kubeConfig: KubeConfig, name: string) {
    this.#kubeConfig = kubeConfig;
    this.#name = name;
    this.#migration = new ResilientInformer(kubeConfig, {
      path: COLLECTION,
      fieldSelector: `metadata.name=${name}`,
      name: `meshmigration/${name}`,
    });
    this.#migration.onChange(() => this.#changed());
  }

  async start(): Promise<void> {
    await this.#migration.start();
    this.#changed();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([
      this.#migration.stop(),
      ...[...this.#namespaces.values()].map((informers) => stopInformers(informers)),
    ]);
    this.#namespaces.clear();
  }

  synced(): boolean {
    return this.#migration.hasSynced();
  }

  migration(): unknown {
    return this.#migration.get(this.#name);
  }

  follow(namespaces: readonly string[]): void {
    if (this.#stopped) return;
    for (const [namespace, informers] of this.#namespaces) {
      if (namespaces.includes(namespace)) continue;
      this.#namespaces.delete(namespace);
      void stopInformers(informers);
    }
    for (const namespace of namespaces) {
      if (this.#namespaces.has(namespace)) continue;
      const informers = namespaceInformers(this.#kubeConfig, namespace);
      for (const informer of Object.values(informers)) informer.onChange(() => this.#changed());
      this.#namespaces.set(namespace, informers);
      // Synced informers change nothing until an event: say so once all four have listed.
      void startInformers(informers).then(() => this.#changed());
    }
  }

  objectsIn(namespace: string): NamespaceObjects | undefined {
    const informers = this.#namespaces.get(namespace);
    if (!informers || !Object.values(informers).every((informer) => informer.hasSynced())) return undefined;
    return {
      deployments: informers.deployments.list(),
      statefulSets: informers.statefulSets.list(),
      daemonSets: informers.daemonSets.list(),
      pods: informers.pods.list(),
    };
  }

  onChange(handler: () => void): void {
    this.#handlers.add(handler);
  }

  #changed(): void {
    if (this.#stopped) return;
    for (const handler of this.#handlers) handler();
  }
}
