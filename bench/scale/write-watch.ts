// When the cluster's namespaces and workloads changed in the ways a migration changes them:
// a namespace's labels or annotations, a Deployment's pod template. The benchmark reads pause
// latency (the last such write after a pause) and time per namespace (each relabel) from it.
import * as k8s from "@kubernetes/client-node";

export interface WriteRecord {
  at: number;
  kind: "namespace" | "deployment";
  namespace: string;
  /** For namespaces: whether it now carries Linkerd's opt-in. */
  onLinkerd?: boolean;
}

export interface WriteWatch {
  writes: WriteRecord[];
  stop(): void;
}

const fingerprint = (value: unknown) => JSON.stringify(value ?? {});

/**
 * Follows one collection through client-node's informer, which re-watches after a timeout; after
 * any other error it is started again, so a long run is never left watching nothing.
 */
async function follow<T extends k8s.KubernetesObject>(
  kc: k8s.KubeConfig,
  path: string,
  list: () => Promise<k8s.KubernetesListObject<T>>,
  onObject: (object: T) => void,
): Promise<() => Promise<void>> {
  const informer = k8s.makeInformer<T>(kc, path, list);
  let stopped = false;
  informer.on("add", onObject);
  informer.on("update", onObject);
  informer.on("error", () => {
    if (!stopped) setTimeout(() => void informer.start(), 1_000);
  });
  await informer.start();
  return async () => {
    stopped = true;
    await informer.stop();
  };
}

export async function watchWrites(kc: k8s.KubeConfig, namespaces: readonly string[]): Promise<WriteWatch> {
  const wanted = new Set(namespaces);
  const seen = new Map<string, string>();
  const writes: WriteRecord[] = [];
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const note = (key: string, value: string) => {
    const changed = seen.has(key) && seen.get(key) !== value;
    seen.set(key, value);
    return changed;
  };
  const stopNamespaces = await follow<k8s.V1Namespace>(
    kc,
    "/api/v1/namespaces",
    () => core.listNamespace(),
    (ns) => {
      const name = ns.metadata?.name ?? "";
      if (!wanted.has(name)) return;
      if (note(`ns/${name}`, fingerprint([ns.metadata?.labels, ns.metadata?.annotations])))
        writes.push({
          at: Date.now(),
          kind: "namespace",
          namespace: name,
          onLinkerd: ns.metadata?.annotations?.["linkerd.io/inject"] === "enabled",
        });
    },
  );
  const stopDeployments = await follow<k8s.V1Deployment>(
    kc,
    "/apis/apps/v1/deployments",
    () => apps.listDeploymentForAllNamespaces(),
    (d) => {
      const namespace = d.metadata?.namespace ?? "";
      if (!wanted.has(namespace)) return;
      if (note(`deploy/${namespace}/${d.metadata?.name}`, fingerprint(d.spec?.template?.metadata)))
        writes.push({ at: Date.now(), kind: "deployment", namespace });
    },
  );
  return {
    writes,
    stop: () => {
      void stopNamespaces();
      void stopDeployments();
    },
  };
}

/** Time between successive namespaces' relabels onto Linkerd, in order. */
export function timesPerNamespace(writes: readonly WriteRecord[], since: number): number[] {
  const relabelled: number[] = [];
  const done = new Set<string>();
  for (const write of writes) {
    if (write.at < since || write.kind !== "namespace" || !write.onLinkerd || done.has(write.namespace))
      continue;
    done.add(write.namespace);
    relabelled.push(write.at);
  }
  return relabelled.slice(1).map((at, i) => at - (relabelled[i] as number));
}
