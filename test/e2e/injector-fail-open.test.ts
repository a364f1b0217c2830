// What the real Linkerd injector taught us: its webhook fails open, so an injector that is down
// behind an available Deployment (unreachable, expired certificate) lets pods start on no mesh,
// and a pod template that opts out of Linkerd leaves every mesh when it is restarted out of Istio.
// Neither may happen silently, and a down injector may cost one workload, not a namespace.
import { describe, expect, it } from "vitest";
import { setInjectorProcessDown } from "../emulators/control.ts";
import { livePods, meshOf, waitForAppsOn, waitForSettled } from "../support/apps.ts";
import { kubectl } from "../support/kubectl.ts";
import {
  applyMigration,
  condition,
  eventsOf,
  getMigration,
  kubectlWaitReady,
  waitForMigration,
} from "../support/migrations.ts";
import { migrationSuite } from "../support/suite.ts";
import { waitFor } from "../support/wait.ts";

const { clients, appNamespace, migrationName, patchSpec } = migrationSuite();
const ON_ISTIO = { labels: { "istio-injection": "enabled" } };

function meshesByWorkload(pods: Awaited<ReturnType<typeof livePods>>): Record<string, string[]> {
  const byApp: Record<string, string[]> = {};
  for (const pod of pods) {
    const app = pod.metadata?.labels?.app ?? "?";
    byApp[app] = [...(byApp[app] ?? []), meshOf(pod)].sort();
  }
  return byApp;
}

describe("a fail-open injector that is down", () => {
  it("costs one workload, restarted with backoff, then holds with the unmeshed pods named", async () => {
    const ns = await appNamespace("fail-open", ON_ISTIO);
    await waitForAppsOn(clients, ns, "istio");
    await setInjectorProcessDown(clients.kc, "linkerd", true);
    try {
      const name = migrationName("fail-open");
      await applyMigration(name, {
        source: { mesh: "istio" },
        target: { mesh: "linkerd" },
        batches: [{ name: "all", namespaces: [ns] }],
      });
      const halted = await waitForMigration(
        clients,
        name,
        (m) => condition(m, "Degraded")?.reason === "VerificationFailed",
        "Degraded VerificationFailed",
        240_000,
      );
      const message = condition(halted, "Degraded")?.message ?? "";
      expect(message).toContain("daemonset/agent");
      expect(message).toContain("run on no mesh");
      expect(message).toContain("spec.rollback: true");

      // Only the first workload was restarted (once, then twice more after a backoff); the
      // others never left Istio.
      const events = await eventsOf(name);
      const restarts = events.filter(
        (e) => e.reason === "WorkloadRestarted" || e.reason === "WorkloadRestartRetried",
      );
      expect(restarts.map((e) => e.message.match(/restarting (\S+)/)?.[1])).toEqual([
        "daemonset/agent",
        "daemonset/agent",
        "daemonset/agent",
      ]);
      expect(meshesByWorkload(await livePods(clients, ns))).toEqual({
        agent: ["none", "none", "none"],
        db: ["istio", "istio"],
        web: ["istio", "istio", "istio"],
      });

      // The fix the message names: bring the injector back, restart the workload; the rest follows.
      await setInjectorProcessDown(clients.kc, "linkerd", false);
      const restarted = await kubectl(["rollout", "restart", "-n", ns, "daemonset/agent"]);
      expect(restarted.code, restarted.stderr).toBe(0);
      await kubectlWaitReady(name, 240);
      await waitForAppsOn(clients, ns, "linkerd");
    } finally {
      await setInjectorProcessDown(clients.kc, "linkerd", false);
    }
  });
});

describe("a workload that opts out of the target", () => {
  it("blocks before anything changes, and once acknowledged is never reported as verified", async () => {
    const ns = await appNamespace("opt-out", {
      ...ON_ISTIO,
      deploymentOnly: true,
      deploymentTemplate: { annotations: { "linkerd.io/inject": "disabled" } },
    });
    await waitForAppsOn(clients, ns, "istio", 3);
    await waitForSettled(clients, ns);
    const before = (await clients.core.readNamespace({ name: ns })).metadata?.resourceVersion;
    const name = migrationName("opt-out");
    await applyMigration(name, {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [ns] }],
    });
    const held = await waitForMigration(
      clients,
      name,
      (m) => condition(m, "Degraded")?.reason === "BlockingPreflightWarning",
      "Degraded BlockingPreflightWarning",
    );
    const message = condition(held, "Degraded")?.message ?? "";
    expect(message).toContain("WorkloadOptsOutOfTarget");
    expect(message).toContain("deployment/web");
    expect((await clients.core.readNamespace({ name: ns })).metadata?.resourceVersion).toBe(before);

    await patchSpec(name, { strategy: { blockOnWarnings: false } });
    await kubectlWaitReady(name);
    await waitForAppsOn(clients, ns, "none", 3);
    const done = await getMigration(clients, name);
    const status = done.status?.namespaces?.find((n) => n.name === ns);
    expect(status?.pods.unmeshed).toBe(3);
    expect(status?.message).not.toContain("every pod");
    expect(status?.message).toContain("deployment/web run on no mesh");
    await waitFor(async () => (await eventsOf(name)).some((e) => e.reason === "WorkloadOptsOutOfTarget"), {
      description: "a WorkloadOptsOutOfTarget Event",
    });
  });
});
