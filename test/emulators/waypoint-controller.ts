// The waypoint controller, emulated: what istiod's gateway deployment controller does for a
// Gateway of class istio-waypoint when ambient is on (istio.io/istio pilot/pkg/config/kube/
// gatewaycommon, its testdata/deployment/waypoint.yaml): a ServiceAccount, Deployment and Service
// of the Gateway's name, owned by it (so the garbage collector removes them with it), and the
// Gateway's status Accepted, then Programmed once the Deployment has a ready replica. The real
// istiod here runs the minimal profile without ambient, so it leaves this class alone.
import {
  AppsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from "@kubernetes/client-node";
import { type Watched, watchResource } from "./informers.ts";
import { createKeyedQueue } from "./keyed-queue.ts";
import { isNotFound } from "./kube-helpers.ts";
import { errorMessage, type Logger } from "./log.ts";

export const WAYPOINT_CLASS = "istio-waypoint";
const CONTROLLER_NAME = "istio.io/mesh-controller";
const MANAGED_LABEL = "gateway.istio.io/managed";
const MANAGED_VALUE = "istio.io-mesh-controller";
const GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";
const FIELD_MANAGER = "waypoint-controller-emulation";
const GATEWAY_API = { group: "gateway.networking.k8s.io", version: "v1" };

interface Gateway extends KubernetesObject {
  spec?: { gatewayClassName?: string };
  status?: { conditions?: Array<{ type: string; status: string; observedGeneration?: number }> };
}

/** The objects istiod makes for a waypoint, as its golden file shows them (trimmed to what kwok runs). */
export function waypointObjects(gateway: Gateway): KubernetesObject[] {
  const name = gateway.metadata?.name ?? "";
  const namespace = gateway.metadata?.namespace ?? "";
  const labels = {
    [MANAGED_LABEL]: MANAGED_VALUE,
    "gateway.networking.k8s.io/gateway-class-name": WAYPOINT_CLASS,
    [GATEWAY_NAME_LABEL]: name,
  };
  const metadata = {
    name,
    namespace,
    labels,
    ownerReferences: [
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        name,
        uid: gateway.metadata?.uid ?? "",
      },
    ],
  };
  const deployment: V1Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata,
    spec: {
      selector: { matchLabels: { [GATEWAY_NAME_LABEL]: name } },
      template: {
        metadata: {
          labels: {
            ...labels,
            "istio.io/dataplane-mode": "none",
            "sidecar.istio.io/inject": "false",
            "service.istio.io/canonical-name": name,
          },
          annotations: { "istio.io/rev": "default" },
        },
        spec: {
          serviceAccountName: name,
          containers: [
            { name: "istio-proxy", image: "docker.io/istio/proxyv2:1.31.0", args: ["proxy", "waypoint"] },
          ],
        },
      },
    },
  };
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata } as KubernetesObject,
    deployment,
    {
      apiVersion: "v1",
      kind: "Service",
      metadata,
      spec: {
        selector: { [GATEWAY_NAME_LABEL]: name },
        ports: [{ name: "mesh", port: 15008, protocol: "TCP", appProtocol: "all" }],
      },
    } as KubernetesObject,
  ];
}

function condition(type: string, status: string, reason: string, message: string, generation?: number) {
  return {
    type,
    status,
    reason,
    message,
    observedGeneration: generation,
    lastTransitionTime: new Date().toISOString(),
  };
}

export interface WaypointController {
  stop(): Promise<void>;
}

export async function startWaypointController(kc: KubeConfig, log: Logger): Promise<WaypointController> {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  let gateways: Watched<Gateway> | undefined;
  let deployments: Watched<V1Deployment> | undefined;

  await objects.patch(
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: WAYPOINT_CLASS },
      spec: { controllerName: CONTROLLER_NAME, description: "The default Istio waypoint GatewayClass" },
    } as KubernetesObject,
    undefined,
    undefined,
    FIELD_MANAGER,
    true,
    PatchStrategy.ServerSideApply,
  );

  await custom.patchClusterCustomObjectStatus(
    {
      ...GATEWAY_API,
      plural: "gatewayclasses",
      name: WAYPOINT_CLASS,
      body: {
        status: { conditions: [condition("Accepted", "True", "Accepted", "Handled by Istio controller")] },
      },
    },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );

  const reconcile = async (key: string) => {
    const [namespace = "", name = ""] = key.split("/");
    const gateway = gateways?.cache.get(name, namespace);
    if (!gateway || gateway.spec?.gatewayClassName !== WAYPOINT_CLASS || gateway.metadata?.deletionTimestamp)
      return;
    for (const object of waypointObjects(gateway)) {
      await objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    }
    const ready = (deployments?.cache.get(name, namespace)?.status?.readyReplicas ?? 0) > 0;
    const generation = gateway.metadata?.generation;
    const programmed = ready
      ? condition(
          "Programmed",
          "True",
          "Programmed",
          "Resource programmed, assigned to service(s)",
          generation,
        )
      : condition(
          "Programmed",
          "False",
          "Pending",
          "Waiting for the waypoint Deployment to be ready",
          generation,
        );
    const current = gateway.status?.conditions?.find((c) => c.type === "Programmed");
    if (current?.status === programmed.status && current.observedGeneration === generation) return;
    try {
      await custom.patchNamespacedCustomObjectStatus(
        {
          ...GATEWAY_API,
          plural: "gateways",
          namespace,
          name,
          body: {
            status: {
              addresses: [{ type: "Hostname", value: `${name}.${namespace}.svc.cluster.local` }],
              conditions: [
                condition("Accepted", "True", "Accepted", "Resource accepted", generation),
                programmed,
              ],
            },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      log.info(ready ? "waypoint: programmed" : "waypoint: accepted, waiting for its Deployment", {
        gateway: key,
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  };

  const queue = createKeyedQueue(reconcile, (key, error) =>
    log.error("waypoint reconcile failed; retrying", { gateway: key, error: errorMessage(error) }),
  );
  const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  gateways = await watchResource<Gateway>(
    kc,
    "/apis/gateway.networking.k8s.io/v1/gateways",
    async () =>
      (await custom.listClusterCustomObject({ ...GATEWAY_API, plural: "gateways" })) as {
        items: Gateway[];
        metadata: { resourceVersion?: string };
      },
    (gateway, change) => {
      if (change !== "delete") queue.add(keyOf(gateway));
    },
    log,
  );
  deployments = await watchResource<V1Deployment>(
    kc,
    "/apis/apps/v1/deployments",
    () => apps.listDeploymentForAllNamespaces({ labelSelector: `${MANAGED_LABEL}=${MANAGED_VALUE}` }),
    (deployment) => {
      if (deployment.metadata?.labels?.[MANAGED_LABEL] === MANAGED_VALUE) queue.add(keyOf(deployment));
    },
    log,
  );
  for (const gateway of gateways.cache.list()) queue.add(keyOf(gateway));
  await queue.idle();
  log.info("waypoint controller emulation running", { gatewayClass: WAYPOINT_CLASS });
  return {
    stop: async () => {
      queue.stop();
      await Promise.all([gateways?.stop(), deployments?.stop()]);
    },
  };
}
