// A list-watch cache that keeps itself running: client-node's informer stops on
// a watch error, so this restarts it, and `start` returns only once the first
// list has been received.
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
} from "@kubernetes/client-node";
import { errorMessage, type Logger } from "./log.ts";

export type ChangeKind = "add" | "update" | "delete";

export interface Watched<T extends KubernetesObject> {
  cache: ObjectCache<T>;
  stop(): Promise<void>;
}

const RETRY_MS = 1000;

export async function watchResource<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  onChange: (object: T, change: ChangeKind) => void,
  log: Logger,
): Promise<Watched<T>> {
  const informer = makeInformer<T>(kc, path, list);
  let stopped = false;
  let initialised = false;
  informer.on("add", (object) => onChange(object, "add"));
  informer.on("update", (object) => onChange(object, "update"));
  informer.on("delete", (object) => onChange(object, "delete"));
  informer.on("error", (error) => {
    if (!initialised || stopped) return;
    log.error("watch failed; restarting", { path, error: errorMessage(error) });
    setTimeout(() => {
      if (!stopped) void informer.start();
    }, RETRY_MS);
  });

  for (;;) {
    let failure: unknown;
    const noteFailure = (error: unknown) => {
      failure = error ?? new Error("watch failed");
    };
    informer.on("error", noteFailure);
    await informer.start();
    informer.off("error", noteFailure);
    if (failure === undefined) break;
    log.error("initial list failed; retrying", { path, error: errorMessage(failure) });
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  initialised = true;
  return {
    cache: informer,
    stop: async () => {
      stopped = true;
      await informer.stop();
    },
  };
}
