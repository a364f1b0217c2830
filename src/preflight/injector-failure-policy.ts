// InjectorFailurePolicyIgnore: with failurePolicy Ignore (Linkerd's default) the API server
// admits pods without calling a down or slow injector, so they start unmeshed, silently.
import type { MigrationWarning } from "../api/schema.ts";
import { driverFor } from "../meshes/registry.ts";
import { describeMeshRef } from "./describe.ts";
import type { PreflightInput } from "./input.ts";

export function injectorFailurePolicyWarnings(input: PreflightInput): MigrationWarning[] {
  if (input.target.mesh === "none") return [];
  const injectorConfigs = new Set(
    driverFor(input.target.mesh)
      .controlPlane(input.target)
      .filter((requirement) => requirement.kind === "MutatingWebhookConfiguration")
      .flatMap((requirement) => requirement.names),
  );
  return input.webhooks.flatMap((config) => {
    const name = config.metadata?.name ?? "";
    if (!injectorConfigs.has(name)) return [];
    const ignoring = (config.webhooks ?? []).filter((webhook) => webhook.failurePolicy === "Ignore");
    if (ignoring.length === 0) return [];
    const target = describeMeshRef(input.target);
    const helmHint =
      input.target.mesh === "linkerd"
        ? " (Helm value webhookFailurePolicy: Fail in linkerd-control-plane)"
        : "";
    return [
      {
        code: "InjectorFailurePolicyIgnore",
        severity: "Warning" as const,
        message:
          `MutatingWebhookConfiguration ${name} calls the ${target} injector with failurePolicy Ignore ` +
          `(webhook ${ignoring.map((webhook) => webhook.name ?? "?").join(", ")}): if the injector is down or slow ` +
          "while a workload restarts, its new pods start without the proxy, silently. The operator checks every " +
          "pod after each restart and halts the migration (VerificationFailed) when pods come up unmeshed, but " +
          `those pods already serve traffic outside the mesh by then. Fix: make sure the ${target} injector is ` +
          "healthy and redundant (2+ replicas, a PodDisruptionBudget) for the whole migration, or set the " +
          `webhook's failurePolicy to Fail${helmHint}.`,
      },
    ];
  });
}
