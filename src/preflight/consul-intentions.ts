// Consul's ServiceIntentions across the move. A workload that leaves Consul has no Consul identity
// any more: an intention that allowed it stops matching, and a service that stays in Consul
// refuses it. A workload that joins Consul under a default deny (a * → * deny intention) may call
// nothing and be called by nothing until an intention names it.
import type { MigrationWarning } from "../api/schema.ts";
import { listNames, movingNamespaces } from "./boundary.ts";
import { effectiveMutualTLSMode } from "./consul-mutual-tls.ts";
import { consulServiceNames, readServiceIntentions, type ServiceIntentions } from "./consul-objects.ts";
import type { PreflightInput } from "./input.ts";

interface MovingService {
  name: string;
  namespace: string;
  batch: string;
  /** The batch's position: services of one batch leave together. */
  order: number;
}

function movingServices(input: PreflightInput): Map<string, MovingService> {
  const order = new Map(input.batches.map((batch, index) => [batch.name, index]));
  const services = new Map<string, MovingService>();
  for (const { name: namespace, batch } of movingNamespaces(input)) {
    for (const name of consulServiceNames(input, namespace)) {
      services.set(name, { name, namespace, batch, order: order.get(batch) ?? 0 });
    }
  }
  return services;
}

function intentionName(intention: ServiceIntentions): string {
  return `ServiceIntentions ${intention.namespace}/${intention.name}`;
}

/** Whether the destination is still in Consul when the source leaves (stays, or moves later). */
function outlives(destination: string, source: MovingService, moving: Map<string, MovingService>): boolean {
  const later = moving.get(destination);
  return later === undefined || later.order > source.order;
}

/** ConsulIntentionSourceLeaves: an allow naming a moving source, for a destination still in Consul then. */
export function consulIntentionSourceWarnings(input: PreflightInput): MigrationWarning[] {
  if (input.source.mesh !== "consul" || input.target.mesh === "consul") return [];
  const moving = movingServices(input);
  return readServiceIntentions(input.policies.serviceIntentions).flatMap((intention) =>
    intention.sources.flatMap((source) => {
      const leaving = moving.get(source.name);
      if (!source.allows || leaving === undefined) return [];
      const destination = intention.destination;
      const wildcard = destination === "*";
      if (!wildcard && !outlives(destination, leaving, moving)) return [];
      if (!wildcard && effectiveMutualTLSMode(input, destination) === "permissive") return [];
      const callee = wildcard ? "every Consul service" : `service ${destination}`;
      return [
        {
          code: "ConsulIntentionSourceLeaves",
          severity: "Warning" as const,
          namespace: leaving.namespace,
          message:
            `${intentionName(intention)} allows service ${leaving.name} (namespace ${leaving.namespace}, batch ` +
            `${leaving.batch}) to call ${callee}. Once ${leaving.name}'s pods restart without consul-dataplane ` +
            `they have no Consul identity: the intention no longer matches them, and ${callee} still in Consul ` +
            "refuses their calls (Consul's proxy requires mutual TLS unless mutualTLSMode is permissive). " +
            `Fix: move ${wildcard ? "its callees" : destination} in the same batch as ${leaving.name}; or, for the ` +
            `migration, set spec.mutualTLSMode: permissive on ServiceDefaults ${wildcard ? "<callee>" : destination} ` +
            "(the Mesh config entry needs allowEnablingPermissiveMutualTLS: true; intentions are not enforced on " +
            "plaintext, so keep a NetworkPolicy in front of it) and set it back to strict afterwards.",
        },
      ];
    }),
  );
}

function isDefaultDeny(intention: ServiceIntentions): boolean {
  return intention.destination === "*" && intention.sources.some((s) => s.name === "*" && s.denies);
}

/** ConsulDefaultDeny: services joining Consul that no intention lets call or be called. */
export function consulDefaultDenyWarnings(input: PreflightInput): MigrationWarning[] {
  if (input.target.mesh !== "consul" || input.source.mesh === "consul") return [];
  const intentions = readServiceIntentions(input.policies.serviceIntentions);
  const denyAll = intentions.find(isDefaultDeny);
  if (denyAll === undefined) return [];
  const allowedToCall = (service: string) =>
    intentions.some((i) => i.sources.some((s) => s.allows && (s.name === service || s.name === "*")));
  const callable = (service: string) =>
    intentions.some(
      (i) => (i.destination === service || i.destination === "*") && i.sources.some((s) => s.allows),
    );

  return movingNamespaces(input).flatMap(({ name: namespace, batch }) => {
    const services = consulServiceNames(input, namespace);
    const mute = services.filter((service) => !allowedToCall(service));
    const unreachable = services.filter((service) => !callable(service));
    if (mute.length === 0 && unreachable.length === 0) return [];
    const gaps = [
      mute.length > 0 ? `no intention allows ${listNames(mute, 5)} to call anything` : "",
      unreachable.length > 0 ? `no intention allows anything to call ${listNames(unreachable, 5)}` : "",
    ].filter(Boolean);
    return [
      {
        code: "ConsulDefaultDeny",
        severity: "Warning" as const,
        namespace,
        message:
          `Consul denies by default (${intentionName(denyAll)}: * → * deny), and ${gaps.join("; ")}. Once ` +
          `namespace ${namespace} joins Consul in batch ${batch}, those calls are denied. Fix: before the batch, ` +
          "add ServiceIntentions that allow each service to the services it calls and from the services that " +
          "call it (the ACL default policy on Consul's servers can deny by default too; the operator cannot read it).",
      },
    ];
  });
}
