// ConsulStrictMutualTLS: on Consul's side of the boundary, consul-dataplane in transparent-proxy
// mode takes every inbound connection and requires mutual TLS (mutualTLSMode strict, Consul's
// default), so a caller without a Consul identity is refused: workloads that have left Consul
// calling namespaces that stay, and workloads outside Consul calling namespaces that join it.
// ServiceDefaults (per service) over ProxyDefaults global may set permissive.
import type { MigrationWarning } from "../api/schema.ts";
import { TRANSPARENT_PROXY_LABEL } from "../meshes/consul.ts";
import { type ExposedNamespace, exposedNamespaces, listNames, sideOf } from "./boundary.ts";
import { consulServiceNames, readMutualTLSSettings } from "./consul-objects.ts";
import type { PreflightInput } from "./input.ts";

/** The service's mode: its ServiceDefaults, else ProxyDefaults global, else strict. */
export function effectiveMutualTLSMode(input: PreflightInput, service: string): "strict" | "permissive" {
  const own = readMutualTLSSettings(input.policies.consulServiceDefaults).find((s) => s.name === service);
  if (own) return own.mode;
  const global = readMutualTLSSettings(input.policies.consulProxyDefaults).find((s) => s.name === "global");
  return global?.mode ?? "strict";
}

/** A namespace labelled transparent-proxy "false" has no redirect: its app ports are reached directly. */
function transparentProxyOff(input: PreflightInput, namespace: string): boolean {
  return input.namespaces.get(namespace)?.markers.labels[TRANSPARENT_PROXY_LABEL] === "false";
}

function warningFor(input: PreflightInput, exposed: ExposedNamespace): MigrationWarning[] {
  if (transparentProxyOff(input, exposed.name)) return [];
  const services = consulServiceNames(input, exposed.name);
  const strict = services.filter((service) => effectiveMutualTLSMode(input, service) === "strict");
  if (services.length > 0 && strict.length === 0) return [];
  const which = strict.length > 0 ? `services ${listNames(strict, 5)}` : "its pods";
  const callers =
    input.source.mesh === "consul" ? "workloads that have left Consul" : "callers outside Consul";
  return [
    {
      code: "ConsulStrictMutualTLS",
      severity: "Warning",
      namespace: exposed.name,
      message:
        `Namespace ${exposed.name} ${exposed.role}. Consul's proxy takes every inbound connection of ${which} ` +
        `and requires mutual TLS (mutualTLSMode strict), so ${callers} are refused. Fix: for the migration, set ` +
        "spec.mutualTLSMode: permissive on ProxyDefaults global or on each service's ServiceDefaults (the Mesh " +
        "config entry needs allowEnablingPermissiveMutualTLS: true), or exclude the ports callers use with " +
        "consul.hashicorp.com/transparent-proxy-exclude-inbound-ports, or move callers and callees together; " +
        "set strict again once the migration is done.",
    },
  ];
}

export function consulStrictMutualTLSWarnings(input: PreflightInput): MigrationWarning[] {
  const side = sideOf("consul");
  if (side === undefined) return [];
  return exposedNamespaces(side, input).flatMap((exposed) => warningFor(input, exposed));
}
