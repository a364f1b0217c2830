// Events on the MeshMigration, so `kubectl describe meshmigration NAME` tells the
// story of every step. A cluster-scoped object's Events live in "default", as
// client-go's recorder puts them.
import type * as k8s from "@kubernetes/client-node";
import { API_VERSION, FIELD_MANAGER, KIND } from "../api/constants.ts";
import type { StepEvent } from "./actions.ts";

export interface EventTarget {
  name: string;
  uid: string;
}

export class EventRecorder {
  readonly #core: k8s.CoreV1Api;
  readonly #instance: string;
  readonly #onError: (error: unknown) => void;

  constructor(core: k8s.CoreV1Api, instance: string, onError: (error: unknown) => void) {
    this.#core = core;
    this.#instance = instance;
    this.#onError = onError;
  }

  /** Best effort: an Event that cannot be written never fails the step it reports. */
  async record(target: EventTarget, event: StepEvent): Promise<void> {
    const now = new Date();
    try {
      await this.#core.createNamespacedEvent({
        namespace: "default",
        body: {
          metadata: { generateName: `${target.name}.`, namespace: "default" },
          involvedObject: { apiVersion: API_VERSION, kind: KIND, name: target.name, uid: target.uid },
          type: event.type,
          reason: event.reason,
          message: event.message.slice(0, 1024),
          source: { component: FIELD_MANAGER },
          reportingComponent: FIELD_MANAGER,
          reportingInstance: this.#instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (error) {
      this.#onError(error);
    }
  }
}
