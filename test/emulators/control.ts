// Helpers tests use to drive the emulated meshes through the cluster, as an
// operator would see them: scale an injector's Deployment and wait until the
// emulator has actually opened or closed its socket.
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { waitFor } from "../support/wait.ts";
import {
  CONSUL_INJECTOR,
  CONSUL_NAMESPACE,
  DEFAULT_ISTIO_REVISION,
  INJECTOR_DOWN_ANNOTATION,
  ISTIO_NAMESPACE,
  istiodDeploymentName,
  istioWebhookConfigName,
  LINKERD_INJECTOR_DEPLOYMENT,
  LINKERD_NAMESPACE,
  LINKERD_WEBHOOK_CONFIG,
  OBSERVED_GENERATION_ANNOTATION,
  SERVING_ANNOTATION,
} from "./names.ts";

/** The test cluster's injectors: emulated or real Istio and Linkerd, and Consul's real one. */
export type EmulatedMesh = "istio" | "linkerd" | "consul";

export interface InjectorControlOptions {
  /** Istio only: which revision's injector ("default" unless given). */
  revision?: string;
  timeoutMs?: number;
}

interface InjectorObjects {
  namespace: string;
  deployment: string;
  webhookConfig: string;
}

export function injectorObjects(
  mesh: EmulatedMesh,
  revision: string = DEFAULT_ISTIO_REVISION,
): InjectorObjects {
  if (mesh === "consul") {
    return { namespace: CONSUL_NAMESPACE, deployment: CONSUL_INJECTOR, webhookConfig: CONSUL_INJECTOR };
  }
  if (mesh === "linkerd") {
    return {
      namespace: LINKERD_NAMESPACE,
      deployment: LINKERD_INJECTOR_DEPLOYMENT,
      webhookConfig: LINKERD_WEBHOOK_CONFIG,
    };
  }
  return {
    namespace: ISTIO_NAMESPACE,
    deployment: istiodDeploymentName(revision),
    webhookConfig: istioWebhookConfigName(revision),
  };
}

export interface InjectorState {
  serving: boolean;
  /** The Deployment generation the emulator had seen when it wrote `serving`. */
  observedGeneration: number;
}

/** What the emulator last reported for this injector (undefined: webhook configuration absent). */
export async function injectorState(
  kc: KubeConfig,
  mesh: EmulatedMesh,
  revision?: string,
): Promise<InjectorState | undefined> {
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  try {
    const config = await admission.readMutatingWebhookConfiguration({
      name: injectorObjects(mesh, revision).webhookConfig,
    });
    const annotations = config.metadata?.annotations ?? {};
    return {
      serving: annotations[SERVING_ANNOTATION] === "true",
      observedGeneration: Number(annotations[OBSERVED_GENERATION_ANNOTATION] ?? 0),
    };
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** Whether the emulator reports the injector as listening (undefined: webhook configuration absent). */
export async function isInjectorServing(
  kc: KubeConfig,
  mesh: EmulatedMesh,
  revision?: string,
): Promise<boolean | undefined> {
  return (await injectorState(kc, mesh, revision))?.serving;
}

/**
 * Scales the injector's Deployment to 1 (up) or 0 (down) and waits until the emulator has
 * opened or closed the socket. Down: Istio's Fail policy rejects pods it would inject;
 * Linkerd's Ignore policy lets them start unmeshed.
 */
export async function setInjectorUp(
  kc: KubeConfig,
  mesh: EmulatedMesh,
  up: boolean,
  options: InjectorControlOptions = {},
): Promise<void> {
  const objects = injectorObjects(mesh, options.revision);
  const apps = kc.makeApiClient(AppsV1Api);
  const scaled = await apps.patchNamespacedDeployment(
    { name: objects.deployment, namespace: objects.namespace, body: { spec: { replicas: up ? 1 : 0 } } },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
  const generation = scaled.metadata?.generation ?? 0;
  await waitFor(
    async () => {
      const state = await injectorState(kc, mesh, options.revision);
      return state !== undefined && state.observedGeneration >= generation && state.serving === up;
    },
    {
      timeoutMs: options.timeoutMs ?? 30_000,
      description: `the emulated ${mesh} injector (${objects.deployment}) to be ${up ? "serving" : "down"}`,
    },
  );
}

/**
 * Stops (down) or starts the injector itself while its Deployment stays available, and waits until
 * that has happened: the control plane still looks ready to the operator. Linkerd's fail-open
 * webhook then admits pods unmeshed; Istio's fail-closed one refuses them.
 */
export async function setInjectorProcessDown(
  kc: KubeConfig,
  mesh: EmulatedMesh,
  down: boolean,
  options: InjectorControlOptions = {},
): Promise<void> {
  const objects = injectorObjects(mesh, options.revision);
  const apps = kc.makeApiClient(AppsV1Api);
  await apps.patchNamespacedDeployment(
    {
      name: objects.deployment,
      namespace: objects.namespace,
      body: { metadata: { annotations: { [INJECTOR_DOWN_ANNOTATION]: down ? "true" : null } } },
    },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
  await waitFor(async () => (await injectorState(kc, mesh, options.revision))?.serving === !down, {
    timeoutMs: options.timeoutMs ?? 60_000,
    description: `the ${mesh} injector (${objects.deployment}) process to be ${down ? "stopped" : "serving"}`,
  });
}

export interface WaitForEmulatorsOptions {
  /** Non-default Istio revisions expected to be serving too. */
  istioRevisions?: string[];
  timeoutMs?: number;
}

/**
 * Waits until the emulated meshes are installed and their injectors serve, as seen in the
 * cluster (webhook configurations annotated, ambient DaemonSets present).
 */
export async function waitForEmulators(kc: KubeConfig, options: WaitForEmulatorsOptions = {}): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const expected: Array<[EmulatedMesh, string | undefined]> = [
    ["istio", undefined],
    ["linkerd", undefined],
    ...(options.istioRevisions ?? []).map((revision): [EmulatedMesh, string] => ["istio", revision]),
  ];
  await waitFor(
    async () => {
      for (const [mesh, revision] of expected) {
        if ((await isInjectorServing(kc, mesh, revision)) !== true) return false;
      }
      for (const name of ["ztunnel", "istio-cni-node"]) {
        await apps.readNamespacedDaemonSet({ name, namespace: ISTIO_NAMESPACE });
      }
      return true;
    },
    {
      timeoutMs: options.timeoutMs ?? 60_000,
      description: "the emulated meshes to be installed and serving",
    },
  );
}
