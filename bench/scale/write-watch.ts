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

export async function watchWrites(kc: k8s.KubeConfig, namespaces: readonly string[]): Promise<WriteWatch> {
  const wanted = new Set(namespaces);
  const seen = new Map<string, string>();
  const writes: WriteRecord[] = [];
  const watch = new k8s.Watch(kc);
  const note = (key: string, value: string) => {
    const changed = seen.has(key) && seen.get(key) !== value;
    seen.set(key, value);
    return changed;
  };
  const namespaceWatch = await watch.watch(
    "/api/v1/namespaces",
    {},
    (_type, ns: k8s.V1Namespace) => {
      const name = ns.metadata?.name ?? "";
      if (!wanted.has(name)) return;
      const markers = fingerprint([ns.metadata?.labels, ns.metadata?.annotations]);
      if (note(`ns/${name}`, markers))
        writes.push({
          at: Date.now(),
          kind: "namespace",
          namespace: name,
          onLinkerd: ns.metadata?.annotations?.["linkerd.io/inject"] === "enabled",
        });
    },
    () => undefined,
  );
  const deploymentWatch = await watch.watch(
    "/apis/apps/v1/deployments",
    {},
    (_type, d: k8s.V1Deployment) => {
      const namespace = d.metadata?.namespace ?? "";
      if (!wanted.has(namespace)) return;
      const template = fingerprint(d.spec?.template?.metadata);
      if (note(`deploy/${namespace}/${d.metadata?.name}`, template))
        writes.push({ at: Date.now(), kind: "deployment", namespace });
    },
    () => undefined,
  );
  return {
    writes,
    stop: () => {
      namespaceWatch.abort();
      deploymentWatch.abort();
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
