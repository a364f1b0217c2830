// API errors as a person reads them at 3 a.m.: one line with the verb, the object, the status
// code, the reason and the apiserver's message; no headers, no escaped body, no stack.

/** The HTTP status of an API error (client-node's ApiException and the like), if it has one. */
export function statusCode(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === "number") return code;
  if (typeof statusCode === "number") return statusCode;
  return undefined;
}

interface StatusBody {
  reason?: string;
  message?: string;
}

function statusBody(error: unknown): StatusBody {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === "object" && body !== null) return body as StatusBody;
  if (typeof body !== "string") return {};
  try {
    return JSON.parse(body) as StatusBody;
  } catch {
    return { message: body.slice(0, 200) };
  }
}

/**
 * "create Lease mesh-migration-system/mmo: 404 NotFound: namespaces "mesh-migration-system" not
 * found". Errors without a status (a refused connection) keep their own message.
 */
export function describeApiError(verb: string, object: string, error: unknown): string {
  const code = statusCode(error);
  if (code === undefined)
    return `${verb} ${object}: ${error instanceof Error ? error.message : String(error)}`;
  const body = statusBody(error);
  // An error of our own with a status (a conflict we detected) has no body: its message says it.
  const hasBody = typeof error === "object" && error !== null && "body" in error;
  const message = body.message ?? (!hasBody && error instanceof Error ? error.message : undefined);
  return `${verb} ${object}: ${code}${body.reason ? ` ${body.reason}` : ""}${message ? `: ${message}` : ""}`;
}
