// Builders for the ambient preflight: Istio's L7 objects, waypoints and Services as the API
// returns them, and a preflight input that also carries spec.target.waypoint and pods.
import type { V1Pod } from "@kubernetes/client-node";
import type { PreflightInput, PreflightPod } from "../../../src/preflight/index.ts";
import { AMBIENT, ISTIO, ISTIO_NS, preflightInput, type Scenario, workload } from "./builders.ts";

function object(apiVersion: string, kind: string, namespace: string, name: string, spec: unknown) {
  return { apiVersion, kind, metadata: { namespace, name, managedFields: [{ manager: "kubectl" }] }, spec };
}

export const selector = (app: string) => ({ selector: { matchLabels: { app } } });
export const waypointRef = (name: string) => ({
  targetRefs: [{ kind: "Gateway", group: "gateway.networking.k8s.io", name }],
});
export const serviceRef = (name: string) => ({ targetRefs: [{ kind: "Service", group: "", name }] });

export function authorizationPolicy(namespace: string, name: string, spec: unknown) {
  return object("security.istio.io/v1", "AuthorizationPolicy", namespace, name, spec);
}

/** An ALLOW policy letting GET requests in, and nothing else: all of it is HTTP. */
export function onlyGet(namespace: string, name: string, attach: object = selector("web")) {
  return authorizationPolicy(namespace, name, {
    ...attach,
    action: "ALLOW",
    rules: [{ to: [{ operation: { methods: ["GET"], ports: ["8080"] } }] }],
  });
}

export function requestAuthentication(namespace: string, name: string, spec: unknown) {
  return object("security.istio.io/v1", "RequestAuthentication", namespace, name, spec);
}

export function wasmPlugin(namespace: string, name: string, spec: unknown) {
  return object("extensions.istio.io/v1alpha1", "WasmPlugin", namespace, name, spec);
}

export function telemetry(namespace: string, name: string, spec: unknown) {
  return object("telemetry.istio.io/v1", "Telemetry", namespace, name, spec);
}

export function envoyFilter(namespace: string, name: string, spec: unknown) {
  return object("networking.istio.io/v1alpha3", "EnvoyFilter", namespace, name, spec);
}

export function virtualService(namespace: string, name: string, spec: unknown) {
  return object("networking.istio.io/v1", "VirtualService", namespace, name, spec);
}

export function destinationRule(namespace: string, name: string, spec: unknown) {
  return object("networking.istio.io/v1", "DestinationRule", namespace, name, spec);
}

export function gateway(namespace: string, name: string, gatewayClassName = "istio-waypoint") {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { namespace, name, labels: { "istio.io/waypoint-for": "service" } },
    spec: { gatewayClassName, listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }] },
  };
}

export function service(namespace: string, name: string, labels: Record<string, string> = {}) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { namespace, name, labels },
    spec: { selector: { app: name }, ports: [{ port: 80 }] },
  };
}

export interface AmbientScenario extends Partial<Scenario> {
  waypoint?: PreflightInput["waypoint"];
  pods?: Array<V1Pod | PreflightPod>;
}

/**
 * Istio sidecars to ambient by default: namespace shop moves (deployment/web and deployment/api),
 * billing stays on sidecars.
 */
export function ambientInput(scenario: AmbientScenario = {}): PreflightInput {
  const pods = scenario.pods ?? [];
  return {
    ...preflightInput({
      source: ISTIO,
      target: AMBIENT,
      moving: ["shop"],
      namespaces: { shop: ISTIO_NS, billing: ISTIO_NS },
      workloads: [workload("shop", "web"), workload("shop", "api"), workload("billing", "ledger")],
      ...scenario,
    }),
    waypoint: scenario.waypoint,
    podsIn: (namespace) => pods.filter((pod) => pod.metadata?.namespace === namespace),
  };
}
