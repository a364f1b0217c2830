// Content types for PATCH requests with @kubernetes/client-node 2.x.
//
// The generated patch methods always pick the first content type they support
// (application/json-patch+json) and serialise the body with JSON.stringify. A middleware that
// rewrites the Content-Type header after that is the documented way to choose another patch
// strategy; the JSON body is valid for all of them (JSON is YAML, so it also suits apply-patch+yaml).
//
// Usage: api.patchNamespace({ name, body }, mergePatchOptions())
import { type ConfigurationOptions, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";

/** JSON merge patch (RFC 7386). Include metadata.resourceVersion in the body to make it conditional. */
export function mergePatchOptions(base?: ConfigurationOptions): ConfigurationOptions {
  return setHeaderOptions("Content-Type", PatchStrategy.MergePatch, base);
}

/**
 * Server-side apply. The request must also carry a fieldManager (and usually force: true),
 * which are parameters of the patch call itself, not options.
 */
export function serverSideApplyOptions(base?: ConfigurationOptions): ConfigurationOptions {
  return setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply, base);
}

/** Strategic merge patch (built-in kinds only; custom resources reject it). */
export function strategicMergePatchOptions(base?: ConfigurationOptions): ConfigurationOptions {
  return setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch, base);
}

/** JSON patch (RFC 6902): the client's default, spelled out for readers. */
export function jsonPatchOptions(base?: ConfigurationOptions): ConfigurationOptions {
  return setHeaderOptions("Content-Type", PatchStrategy.JsonPatch, base);
}
