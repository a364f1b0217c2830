// JSON merge patch (RFC 7386), as the apiserver applies application/merge-patch+json: null
// removes a key, objects merge key by key, anything else (arrays included) replaces whole.
// Pure: neither argument is changed.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function isJsonObject(value: unknown): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function mergePatch(target: unknown, patch: unknown): Json {
  if (!isJsonObject(patch)) return structuredClone(patch as Json);
  const result: Record<string, Json> = isJsonObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** The body as the client puts it on the wire: JSON (undefined values gone, Dates as strings). */
export function asSent(body: unknown): Json {
  return body === undefined ? null : (JSON.parse(JSON.stringify(body)) as Json);
}
