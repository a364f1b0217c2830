// Small idempotent writes for the emulator: create-if-missing and server-side apply.
import { type KubernetesObject, type KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { FIELD_MANAGER } from "./names.ts";

export function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

export const isNotFound = (error: unknown): boolean => statusCode(error) === 404;

/** Creates the object unless it exists; an existing one is left exactly as it is (a test may have scaled it). */
export async function createIfMissing(
  objects: KubernetesObjectApi,
  object: KubernetesObject,
): Promise<boolean> {
  try {
    await objects.create(object, undefined, undefined, FIELD_MANAGER);
    return true;
  } catch (error) {
    if (statusCode(error) === 409) return false;
    throw error;
  }
}

/** Server-side apply, forcing ownership of the fields we declare. */
export async function apply<T extends KubernetesObject>(objects: KubernetesObjectApi, object: T): Promise<T> {
  return objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}
