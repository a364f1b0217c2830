// Events as a person reads them in `kubectl describe`: events.k8s.io/v1 with a microsecond
// eventTime and the action, and a repeated Event counted in its series instead of written again.
import type * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { EventRecorder, REPORTING_CONTROLLER } from "../../../src/controller/events.ts";

function fakeEventsApi() {
  const created: Array<Record<string, unknown>> = [];
  const patched: Array<{ name: string; body: unknown }> = [];
  const api = {
    createNamespacedEvent: async ({ body }: { body: Record<string, unknown> }) => {
      created.push(body);
      return { metadata: { name: `event-${created.length}` } };
    },
    patchNamespacedEvent: async ({ name, body }: { name: string; body: unknown }) => {
      patched.push({ name, body });
      return {};
    },
  };
  return { api: api as unknown as k8s.EventsV1Api, created, patched };
}

const TARGET = { name: "move", uid: "u-1" };
const HALT = {
  type: "Warning" as const,
  reason: "RolloutTimeout",
  message: "web did not finish rolling out",
};

describe("EventRecorder", () => {
  it("writes events.k8s.io Events with a microsecond eventTime, the action and the reporting controller", async () => {
    const { api, created } = fakeEventsApi();
    const recorder = new EventRecorder(
      api,
      "pod-1",
      () => {},
      () => Date.parse("2026-12-01T10:00:00.123Z"),
    );
    await recorder.record(TARGET, {
      type: "Normal",
      reason: "NamespaceRelabelled",
      message: "m",
      action: "Relabel",
    });
    expect(created[0]).toMatchObject({
      reason: "NamespaceRelabelled",
      action: "Relabel",
      note: "m",
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: "pod-1",
      regarding: { kind: "MeshMigration", name: "move", uid: "u-1" },
    });
    expect((created[0]?.eventTime as Date | undefined)?.toISOString()).toBe("2026-12-01T10:00:00.123000Z");
  });

  it("counts an identical Event within ten minutes in its series instead of writing another", async () => {
    const { api, created, patched } = fakeEventsApi();
    let now = Date.parse("2026-12-01T10:00:00Z");
    const recorder = new EventRecorder(
      api,
      "pod-1",
      () => {},
      () => now,
    );
    await recorder.record(TARGET, HALT);
    now += 60_000;
    await recorder.record(TARGET, HALT);
    now += 60_000;
    await recorder.record(TARGET, HALT);
    expect(created).toHaveLength(1);
    expect(patched.map((p) => p.body)).toEqual([
      { series: { count: 2, lastObservedTime: "2026-12-01T10:01:00.000000Z" } },
      { series: { count: 3, lastObservedTime: "2026-12-01T10:02:00.000000Z" } },
    ]);
    expect(patched[0]?.name).toBe("event-1");

    // A different message, or the same one much later, is an Event of its own.
    await recorder.record(TARGET, { ...HALT, message: "api did not finish rolling out" });
    now += 11 * 60_000;
    await recorder.record(TARGET, HALT);
    expect(created).toHaveLength(3);
  });

  it("writes a once-Event under its own name, and never again (409 AlreadyExists is the same Event)", async () => {
    const { api, created } = fakeEventsApi();
    const recorder = new EventRecorder(api, "pod-1", () => {});
    const verified = {
      type: "Normal" as const,
      reason: "NamespaceVerified",
      message: "ok",
      once: "move.shop.forward.0a1b2c3d",
    };
    await recorder.record(TARGET, verified);
    await recorder.record(TARGET, verified);
    expect(created.map((e) => (e.metadata as { name: string }).name)).toEqual(["move.shop.forward.0a1b2c3d"]);

    const errors: unknown[] = [];
    const exists = {
      createNamespacedEvent: async () => {
        throw Object.assign(new Error("already exists"), { code: 409 });
      },
    } as unknown as k8s.EventsV1Api;
    await new EventRecorder(exists, "pod-2", (e) => errors.push(e)).record(TARGET, verified);
    expect(errors).toEqual([]);
  });

  it("never fails the step it reports: a refused write goes to onError", async () => {
    const errors: unknown[] = [];
    const api = {
      createNamespacedEvent: async () => {
        throw Object.assign(new Error("forbidden"), { code: 403 });
      },
    } as unknown as k8s.EventsV1Api;
    await new EventRecorder(api, "pod-1", (e) => errors.push(e)).record(TARGET, HALT);
    expect(errors).toHaveLength(1);
  });
});
