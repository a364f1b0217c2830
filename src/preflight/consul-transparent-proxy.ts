// Consul's transparent-proxy settings that change what reaches a pod across the move.
// ConsulMeshDestinationsOnly: with the Mesh config entry's transparentProxy.meshDestinationsOnly,
// Consul's proxies reach only services in Consul's catalog: namespaces leaving Consul drop out of
// it, and pods joining Consul can no longer reach services outside it.
// ConsulTransparentProxyDisabled: pods joining Consul with transparent proxy off are not
// redirected through consul-dataplane, so callers reach their ports directly, without mutual TLS
// or intentions, and they reach other services only through their declared upstreams.
import type { MigrationWarning } from "../api/schema.ts";
import { TRANSPARENT_PROXY_ANNOTATION, TRANSPARENT_PROXY_LABEL } from "../meshes/consul.ts";
import { listNames, movingNamespaces } from "./boundary.ts";
import { readConsulMeshConfigs } from "./consul-objects.ts";
import type { PreflightInput } from "./input.ts";

/** A migration into or out of Consul (a Consul revision change crosses nothing). */
function crossesConsul(input: PreflightInput): "leaving" | "entering" | undefined {
  const from = input.source.mesh === "consul";
  const to = input.target.mesh === "consul";
  if (from === to) return undefined;
  return from ? "leaving" : "entering";
}

export function consulMeshDestinationsOnlyWarnings(input: PreflightInput): MigrationWarning[] {
  const direction = crossesConsul(input);
  if (direction === undefined) return [];
  const mesh = readConsulMeshConfigs(input.policies.consulMeshes).find((m) => m.meshDestinationsOnly);
  const moving = movingNamespaces(input).map((ns) => ns.name);
  if (mesh === undefined || moving.length === 0) return [];
  const effect =
    direction === "leaving"
      ? `the services of ${listNames(moving, 5)} leave Consul's catalog as their pods restart without ` +
        "consul-dataplane, and workloads that stay in Consul can no longer call them"
      : `pods of ${listNames(moving, 5)} joining Consul can call only services in Consul's catalog, not ` +
        "the workloads that stay outside Consul";
  return [
    {
      code: "ConsulMeshDestinationsOnly",
      severity: "Warning",
      message:
        `Mesh ${mesh.namespace}/${mesh.name} sets transparentProxy.meshDestinationsOnly: Consul's proxies ` +
        `reach only services registered in Consul's catalog, so ${effect}. Fix: set ` +
        "meshDestinationsOnly: false for the migration, or register the services outside Consul behind a " +
        "terminating gateway, or move callers and callees together.",
    },
  ];
}

/** The workloads of a namespace joining Consul that run with transparent proxy off, and why. */
function withoutTransparentProxy(input: PreflightInput, namespace: string): string[] {
  const namespaceOff = input.namespaces.get(namespace)?.markers.labels[TRANSPARENT_PROXY_LABEL] === "false";
  return input.workloadsIn(namespace).flatMap((workload) => {
    const own = workload.template.annotations[TRANSPARENT_PROXY_ANNOTATION];
    const off = own === undefined ? namespaceOff : own === "false";
    return off ? [`${workload.kind} ${workload.name}`] : [];
  });
}

export function consulTransparentProxyWarnings(input: PreflightInput): MigrationWarning[] {
  if (crossesConsul(input) !== "entering") return [];
  return movingNamespaces(input).flatMap(({ name: namespace, batch }) => {
    const workloads = withoutTransparentProxy(input, namespace);
    if (workloads.length === 0) return [];
    return [
      {
        code: "ConsulTransparentProxyDisabled",
        severity: "Warning" as const,
        namespace,
        message:
          `${listNames(workloads, 5)} in namespace ${namespace} join Consul in batch ${batch} with transparent ` +
          `proxy off (${TRANSPARENT_PROXY_ANNOTATION} or the namespace label set to "false"): their traffic is ` +
          "not redirected through consul-dataplane, so callers reach their ports directly, without mutual TLS " +
          "or intentions, and they reach other Consul services only through the upstreams listed in " +
          'consul.hashicorp.com/connect-service-upstreams. Fix: remove the setting (or set it to "true") before ' +
          "the batch, or list every upstream and keep a NetworkPolicy in front of the ports.",
      },
    ];
  });
}
