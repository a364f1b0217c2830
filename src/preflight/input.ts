// What the preflight reads: the migration's meshes and resolved batches, the namespaces,
// the workloads' pod templates, and the mesh policy objects as plain JSON (their CRDs may be
// absent, and nothing about them is validated by us, so every reader is defensive).
import type { WorkloadKind } from "../api/constants.ts";
import type { Markers, MeshRef, PodFacts } from "../meshes/driver.ts";
import { markersOf } from "../meshes/markers.ts";

/** The pod-template facts the preflight needs from a Deployment, StatefulSet or DaemonSet. */
export interface PreflightWorkload {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  /** Labels and annotations of the pod template. */
  template: Markers;
  hostNetwork: boolean;
  /** The pod template's automountServiceAccountToken; undefined when unset. */
  automountServiceAccountToken?: boolean | undefined;
  /** The pod template's serviceAccountName; undefined means "default". */
  serviceAccountName?: string | undefined;
}

/** Policy objects of both meshes, each as the API returns it (plain JSON). Missing lists mean none. */
export interface PolicyObjects {
  /** security.istio.io/v1 PeerAuthentication */
  peerAuthentications?: readonly unknown[];
  /** security.istio.io/v1 AuthorizationPolicy */
  istioAuthorizationPolicies?: readonly unknown[];
  /** policy.linkerd.io/v1beta3 Server */
  linkerdServers?: readonly unknown[];
  /** policy.linkerd.io/v1alpha1 AuthorizationPolicy */
  linkerdAuthorizationPolicies?: readonly unknown[];
  /** policy.linkerd.io/v1alpha1 MeshTLSAuthentication */
  meshTLSAuthentications?: readonly unknown[];
  /** security.istio.io/v1 RequestAuthentication */
  requestAuthentications?: readonly unknown[];
  /** networking.istio.io/v1 VirtualService */
  virtualServices?: readonly unknown[];
  /** networking.istio.io/v1 DestinationRule */
  destinationRules?: readonly unknown[];
  /** networking.istio.io/v1alpha3 EnvoyFilter */
  envoyFilters?: readonly unknown[];
  /** extensions.istio.io/v1alpha1 WasmPlugin */
  wasmPlugins?: readonly unknown[];
  /** telemetry.istio.io/v1 Telemetry */
  telemetries?: readonly unknown[];
  /** gateway.networking.k8s.io/v1 Gateway: waypoints are Gateways of gatewayClassName istio-waypoint. */
  gateways?: readonly unknown[];
  /** v1 Service, for its istio.io/use-waypoint label and the Consul service names of a namespace. */
  services?: readonly unknown[];
  /** consul.hashicorp.com/v1alpha1 ServiceIntentions */
  serviceIntentions?: readonly unknown[];
  /** consul.hashicorp.com/v1alpha1 ServiceDefaults */
  consulServiceDefaults?: readonly unknown[];
  /** consul.hashicorp.com/v1alpha1 ProxyDefaults */
  consulProxyDefaults?: readonly unknown[];
  /** consul.hashicorp.com/v1alpha1 Mesh */
  consulMeshes?: readonly unknown[];
}

/** The pod facts the preflight reads (V1Pod fits): the proxy's env says whether it speaks HBONE. */
export interface PreflightPod extends PodFacts {
  metadata?: PodFacts["metadata"] & { deletionTimestamp?: unknown };
  spec?: {
    containers?: Array<{ name?: string; image?: string; env?: EnvVarLike[] }>;
    initContainers?: Array<{ name?: string; image?: string; restartPolicy?: string; env?: EnvVarLike[] }>;
    hostNetwork?: boolean;
  };
  status?: { phase?: string };
}

export interface EnvVarLike {
  name?: string;
  value?: string;
}

/** The parts of a MutatingWebhookConfiguration the preflight reads (V1MutatingWebhookConfiguration fits). */
export interface WebhookConfigurationLike {
  metadata?: { name?: string | undefined } | undefined;
  webhooks?: ReadonlyArray<{ name?: string | undefined; failurePolicy?: string | undefined }> | undefined;
}

/** A policy resource that could not be read, and the apiserver's answer as one line. */
export interface UnreadablePolicies {
  resource: string;
  reason: string;
}

export interface PreflightInput {
  source: MeshRef;
  target: MeshRef;
  /** The resolved batches in order (see resolveBatches in controller/migration/batches.ts). */
  batches: ReadonlyArray<{ name: string; namespaces: readonly string[] }>;
  /** Every namespace in the cluster, by name (NamespaceFacts fits). */
  namespaces: ReadonlyMap<string, { markers: Markers; terminating?: boolean | undefined }>;
  /** The workloads of one namespace. */
  workloadsIn: (namespace: string) => readonly PreflightWorkload[];
  policies: PolicyObjects;
  /** Policy resources the reader is refused (401/403): their objects are unknown, not absent. */
  unreadablePolicies?: readonly UnreadablePolicies[] | undefined;
  /** MutatingWebhookConfigurations; only the target mesh's injector configurations are read. */
  webhooks: readonly WebhookConfigurationLike[];
  /** Istio's root namespace (meshConfig.rootNamespace); istio-system unless given. */
  istioRootNamespace?: string | undefined;
  /** Linkerd's cluster-wide default inbound policy (proxy.defaultInboundPolicy), when known. */
  linkerdDefaultInboundPolicy?: string | undefined;
  /** spec.target.waypoint: the waypoint each moved namespace will use (istio-ambient only). */
  waypoint?: { name: string; create?: boolean | undefined } | undefined;
  /** The pods of one namespace; read only by checks that need pod facts (HBONE capability). */
  podsIn?: ((namespace: string) => readonly PreflightPod[]) | undefined;
}

interface PodTemplateHolder {
  metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
  spec?:
    | {
        template?:
          | {
              metadata?:
                | {
                    labels?: Record<string, string> | undefined;
                    annotations?: Record<string, string> | undefined;
                  }
                | undefined;
              spec?:
                | {
                    hostNetwork?: boolean | undefined;
                    automountServiceAccountToken?: boolean | undefined;
                    serviceAccountName?: string | undefined;
                  }
                | undefined;
            }
          | undefined;
      }
    | undefined;
}

/** The preflight facts of a Deployment, StatefulSet or DaemonSet, as read from the API or a cache. */
export function preflightWorkloadOf(kind: WorkloadKind, workload: PodTemplateHolder): PreflightWorkload {
  const template = workload.spec?.template;
  return {
    kind,
    namespace: workload.metadata?.namespace ?? "",
    name: workload.metadata?.name ?? "",
    template: markersOf(template?.metadata),
    hostNetwork: template?.spec?.hostNetwork === true,
    automountServiceAccountToken: template?.spec?.automountServiceAccountToken,
    serviceAccountName: template?.spec?.serviceAccountName || undefined,
  };
}
