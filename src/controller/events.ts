// Events on the MeshMigration, so `kubectl describe meshmigration NAME` tells the story of every
// step. They are events.k8s.io/v1 Events: eventTime has microseconds, so they list in the order
// they happened (core/v1 timestamps have one-second resolution), and each names its action. An
// Event repeated within a few minutes is not written again: its series count goes up, as
// client-go's event correlator does, so a long halt does not flood the namespace. A
// cluster-scoped object's Events live in "default": the apiserver refuses an events.k8s.io Event
// about a cluster-scoped object in any namespace but "default" and "kube-system", so RBAC grants
// Events by a Role in "default" only (deploy/events-role.yaml).
import type * as k8s from "@kubernetes/client-node";
import { V1MicroTime } from "@kubernetes/client-node";
import { API_VERSION, FIELD_MANAGER, KIND } from "../api/constants.ts";
import { statusCode } from "../runtime/api-error.ts";
import { mergePatchOptions } from "../runtime/patch.ts";
import type { StepEvent } from "./actions.ts";

export interface EventTarget {
  name: string;
  uid: string;
}

export const EVENT_NAMESPACE = "default";
/** The controller that reports, as a qualified name (events.k8s.io wants one). */
export const REPORTING_CONTROLLER = "meshmigration.io/operator";
/** Identical Events within this window are one Event with a growing series count. */
const AGGREGATION_WINDOW_MS = 10 * 60_000;
/** Enough distinct recent Events to aggregate a busy migration's; older ones are forgotten. */
const MAX_REMEMBERED = 1024;
const NOTE_LIMIT = 1024;

interface Remembered {
  name: string;
  count: number;
  lastMs: number;
}

export class EventRecorder {
  readonly #events: k8s.EventsV1Api;
  readonly #instance: string;
  readonly #onError: (error: unknown) => void;
  readonly #now: () => number;
  readonly #recent = new Map<string, Remembered>();
  /** Names of once-Events known to exist. */
  readonly #written = new Set<string>();
  #sequence = 0;

  constructor(
    events: k8s.EventsV1Api,
    instance: string,
    onError: (error: unknown) => void,
    now: () => number = Date.now,
  ) {
    this.#events = events;
    this.#instance = instance;
    this.#onError = onError;
    this.#now = now;
  }

  /** Best effort: an Event that cannot be written never fails the step it reports. */
  async record(target: EventTarget, event: StepEvent): Promise<void> {
    if (event.once !== undefined) {
      await this.#recordOnce(target, event, event.once);
      return;
    }
    const note = event.message.slice(0, NOTE_LIMIT);
    const key = [target.uid, event.type, event.reason, note].join("\u0000");
    const now = this.#now();
    const seen = this.#recent.get(key);
    try {
      if (seen && now - seen.lastMs < AGGREGATION_WINDOW_MS) {
        await this.#repeat(seen, now);
      } else {
        this.#remember(key, { name: await this.#create(target, event, note, now), count: 1, lastMs: now });
      }
    } catch (error) {
      this.#onError(error);
    }
  }

  /** An Event named after its fact: written the first time, an AlreadyExists (409) after that. */
  async #recordOnce(target: EventTarget, event: StepEvent, name: string): Promise<void> {
    if (this.#written.has(name)) return;
    try {
      await this.#create(target, event, event.message.slice(0, NOTE_LIMIT), this.#now(), name);
    } catch (error) {
      if (statusCode(error) !== 409) {
        this.#onError(error);
        return;
      }
    }
    this.#written.add(name);
    if (this.#written.size > MAX_REMEMBERED) this.#written.delete(this.#written.values().next().value ?? "");
  }

  async #create(
    target: EventTarget,
    event: StepEvent,
    note: string,
    now: number,
    name = this.#eventName(target, now),
  ): Promise<string> {
    const created = await this.#events.createNamespacedEvent({
      namespace: EVENT_NAMESPACE,
      body: {
        metadata: { name, namespace: EVENT_NAMESPACE },
        eventTime: new V1MicroTime(now),
        regarding: { apiVersion: API_VERSION, kind: KIND, name: target.name, uid: target.uid },
        type: event.type,
        reason: event.reason,
        action: event.action ?? event.reason,
        note,
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.#instance.slice(0, 128),
      },
      fieldManager: FIELD_MANAGER,
    });
    return created.metadata?.name ?? "";
  }

  /**
   * "<object>.<hex time>", as client-go names Events (events.k8s.io refuses a generateName ending
   * in a dot); a sequence number keeps two Events of one millisecond apart.
   */
  #eventName(target: EventTarget, now: number): string {
    this.#sequence = (this.#sequence + 1) % 4096;
    return `${target.name}.${now.toString(16)}${this.#sequence.toString(16).padStart(3, "0")}`;
  }

  /** The same Event again: one more in its series, observed now. */
  async #repeat(seen: Remembered, now: number): Promise<void> {
    seen.count++;
    seen.lastMs = now;
    await this.#events.patchNamespacedEvent(
      {
        name: seen.name,
        namespace: EVENT_NAMESPACE,
        body: { series: { count: seen.count, lastObservedTime: new V1MicroTime(now).toISOString() } },
        fieldManager: FIELD_MANAGER,
      },
      mergePatchOptions(),
    );
  }

  #remember(key: string, entry: Remembered): void {
    this.#recent.delete(key);
    this.#recent.set(key, entry);
    while (this.#recent.size > MAX_REMEMBERED) {
      const oldest = this.#recent.keys().next().value;
      if (oldest === undefined) break;
      this.#recent.delete(oldest);
    }
  }
}
