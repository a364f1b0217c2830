// Gives the end-to-end suites a cluster: the one E2E_KUBECONFIG names, or a local
// control plane (reused if one is already running, otherwise started here and
// stopped at the end) with the injectors MMO_MESHES names (real unless emulated). A cluster that cannot start fails the run loudly: the
// suites are never skipped silently.
import { meshModeFromEnv, startLocalCluster, stopLocalCluster } from "../cluster/local-cluster.ts";
import { watchConsulBesideProxy } from "../support/consul-beside-proxy.ts";
import { e2eKubeConfig } from "../support/kube.ts";

export default async function setup(): Promise<() => Promise<void>> {
  const stopCluster = await provideCluster();
  const watch = await watchConsulBesideProxy(e2eKubeConfig());
  return async () => {
    const seen = await watch.stop();
    console.error(
      `[e2e] ${seen.consulPods} pods ran consul-dataplane, ${seen.offenders.length} of them beside another mesh's proxy`,
    );
    await stopCluster();
    if (seen.offenders.length > 0) {
      throw new Error(`consul-dataplane ran beside another mesh's proxy in: ${seen.offenders.join(", ")}`);
    }
  };
}

/** The cluster for the run, and how to stop it afterwards (nothing to stop for one given or reused). */
async function provideCluster(): Promise<() => Promise<void>> {
  if (process.env.E2E_KUBECONFIG) {
    process.env.E2E_MESHES ??= meshModeFromEnv();
    console.error(
      `[e2e] using the cluster in E2E_KUBECONFIG=${process.env.E2E_KUBECONFIG} (${process.env.E2E_MESHES} meshes)`,
    );
    return async () => {};
  }
  if (process.env.CI === "true" && meshModeFromEnv() !== "real") {
    throw new Error(
      "CI runs every end-to-end suite with the real injectors: unset MMO_MESHES or set it to real",
    );
  }
  let cluster: Awaited<ReturnType<typeof startLocalCluster>>;
  try {
    cluster = await startLocalCluster({ log: (line) => console.error(`[e2e cluster] ${line}`) });
  } catch (error) {
    throw new Error(
      `The end-to-end suites need a Kubernetes cluster and the local one could not start: ${String(error)}\n` +
        "Fix the cause above (Go and openssl are needed to build and run it), point E2E_KUBECONFIG at a " +
        "cluster of your own, or run only the unit tests with `npm run test:unit`.",
    );
  }
  process.env.E2E_KUBECONFIG = cluster.kubeconfig;
  process.env.E2E_CLUSTER_BIN_DIR = cluster.state.binDir;
  process.env.E2E_MESHES = cluster.state.meshMode;
  console.error(
    `[e2e] injectors: ${cluster.state.meshMode === "real" ? "Istio's own istiod and Linkerd's own proxy-injector" : "emulated (MMO_MESHES=emulated)"}`,
  );
  return async () => {
    if (!cluster.reused) await stopLocalCluster(cluster.state.dir);
  };
}
