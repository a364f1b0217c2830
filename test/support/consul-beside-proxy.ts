// An invariant every end-to-end suite is held to, watched from outside the suites: no pod ever runs
// consul-dataplane beside another mesh's proxy (ours or one we do not drive). The global setup
// watches every pod of the cluster for the whole run and fails the run at teardown if one did.
// A pod that lived only while the watch was reconnecting (an apiserver the fault suite killed)
// is not seen; every other pod is seen at each change.
import { CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { foreignMeshesOfPod, meshesOfPod } from "../../src/meshes/registry.ts";
import { watchResource } from "../emulators/informers.ts";

function runsConsulDataplane(pod: V1Pod): boolean {
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
  return names.some((name) => name === "consul-dataplane" || name.startsWith("consul-dataplane-"));
}

/** consul-dataplane and any other mesh in one pod: what must never happen. */
export function consulBesideAnotherProxy(pod: V1Pod): boolean {
  if (!runsConsulDataplane(pod)) return false;
  const others = meshesOfPod(pod).filter((mesh) => mesh !== "consul");
  return others.length > 0 || foreignMeshesOfPod(pod).length > 0;
}

export interface ConsulBesideProxyWatch {
  /** Stops watching; the counts say what was seen. */
  stop(): Promise<{ consulPods: number; offenders: string[] }>;
}

export async function watchConsulBesideProxy(kc: KubeConfig): Promise<ConsulBesideProxyWatch> {
  const core = kc.makeApiClient(CoreV1Api);
  const consulPods = new Set<string>();
  const offenders = new Set<string>();
  const quiet = { info: () => {}, error: () => {} };
  const watched = await watchResource<V1Pod>(
    kc,
    "/api/v1/pods",
    () => core.listPodForAllNamespaces(),
    (pod) => {
      const name = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
      if (runsConsulDataplane(pod)) consulPods.add(name);
      if (consulBesideAnotherProxy(pod)) offenders.add(name);
    },
    quiet,
  );
  return {
    async stop() {
      await watched.stop();
      return { consulPods: consulPods.size, offenders: [...offenders].sort() };
    },
  };
}
