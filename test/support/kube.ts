// Kubernetes access for end-to-end tests: the cluster the global setup started,
// or the one E2E_KUBECONFIG names.
import * as k8s from "@kubernetes/client-node";

export function e2eKubeconfigPath(): string {
  const path = process.env.E2E_KUBECONFIG;
  if (!path)
    throw new Error("E2E_KUBECONFIG is not set: run the e2e suites through vitest (global setup sets it)");
  return path;
}

export function e2eKubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(e2eKubeconfigPath());
  return kc;
}

export interface E2eClients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  batch: k8s.BatchV1Api;
  admission: k8s.AdmissionregistrationV1Api;
  objects: k8s.KubernetesObjectApi;
  custom: k8s.CustomObjectsApi;
}

export function e2eClients(kc: k8s.KubeConfig = e2eKubeConfig()): E2eClients {
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    admission: kc.makeApiClient(k8s.AdmissionregistrationV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
  };
}

/** A namespace name unique to this test run, so suites never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}
