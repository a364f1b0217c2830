// The apiserver's own count of requests (apiserver_request_total), summed by verb and resource,
// so each side of the benchmark is charged what the apiserver saw while it ran.
import * as https from "node:https";
import type * as k8s from "@kubernetes/client-node";

/** "PATCH namespaces", "PATCH meshmigrations/status", … → count. */
export type RequestCounts = Map<string, number>;

const SAMPLE = /^apiserver_request_total\{([^}]*)\}\s+([0-9.e+]+)$/;

function labelsOf(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/(\w+)="([^"]*)"/g)) labels[match[1] as string] = match[2] as string;
  return labels;
}

export function parseRequestCounts(metrics: string): RequestCounts {
  const counts: RequestCounts = new Map();
  for (const line of metrics.split("\n")) {
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const labels = labelsOf(match[1] as string);
    const resource = labels.subresource ? `${labels.resource}/${labels.subresource}` : labels.resource;
    const key = `${labels.verb} ${resource}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(match[2]));
  }
  return counts;
}

export async function requestCounts(kc: k8s.KubeConfig): Promise<RequestCounts> {
  const server = new URL(kc.getCurrentCluster()?.server ?? "");
  const options: https.RequestOptions = { host: server.hostname, port: server.port, path: "/metrics" };
  await kc.applyToHTTPSOptions(options);
  const text = await new Promise<string>((resolve, reject) => {
    const request = https.get(options, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () =>
        response.statusCode === 200
          ? resolve(body)
          : reject(new Error(`GET /metrics: ${response.statusCode} ${body}`)),
      );
    });
    request.on("error", reject);
  });
  return parseRequestCounts(text);
}

export function difference(after: RequestCounts, before: RequestCounts): RequestCounts {
  const out: RequestCounts = new Map();
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta > 0) out.set(key, delta);
  }
  return out;
}

/** The count for "VERB resource", 0 when the apiserver saw none. */
export const countOf = (counts: RequestCounts, key: string): number => counts.get(key) ?? 0;

/** Every LIST the apiserver answered (a watch-based controller lists only at start-up). */
export const listsIn = (counts: RequestCounts): number =>
  [...counts].filter(([key]) => key.startsWith("LIST ")).reduce((sum, [, n]) => sum + n, 0);
