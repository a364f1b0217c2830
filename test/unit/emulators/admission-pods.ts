// Pods as the API server hands them to an admission webhook.
import type { V1Pod } from "@kubernetes/client-node";

export const TEMPLATE_HASH = "5d8b7c9f4";

/** A pod made by a Deployment's ReplicaSet from this pod template: generateName, owner, template hash. */
export function deploymentPod(template: V1Pod, deployment: string): V1Pod {
  const replicaSet = `${deployment}-${TEMPLATE_HASH}`;
  return {
    metadata: {
      ...template.metadata,
      generateName: `${replicaSet}-`,
      labels: { ...template.metadata?.labels, "pod-template-hash": TEMPLATE_HASH },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: replicaSet, uid: "rs-uid", controller: true },
      ],
    },
    spec: structuredClone(template.spec),
  };
}

/** A StatefulSet's pod. */
export function statefulSetPod(template: V1Pod, statefulSet: string): V1Pod {
  return {
    metadata: {
      ...template.metadata,
      name: `${statefulSet}-0`,
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "StatefulSet", name: statefulSet, uid: "sts-uid", controller: true },
      ],
    },
    spec: structuredClone(template.spec),
  };
}

export function withoutLabel(
  labels: Record<string, string> | undefined,
  key: string,
): Record<string, string> {
  const { [key]: _removed, ...rest } = labels ?? {};
  return rest;
}

export function pod(
  options: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    containers?: string[];
    initContainers?: string[];
    hostNetwork?: boolean;
    automountServiceAccountToken?: boolean;
  } = {},
): V1Pod {
  return {
    metadata: { name: "app", labels: options.labels ?? {}, annotations: options.annotations ?? {} },
    spec: {
      containers: (options.containers ?? ["app"]).map((name) => ({ name, image: `example/${name}:1` })),
      ...(options.initContainers
        ? { initContainers: options.initContainers.map((name) => ({ name, image: `example/${name}:1` })) }
        : {}),
      ...(options.hostNetwork !== undefined ? { hostNetwork: options.hostNetwork } : {}),
      ...(options.automountServiceAccountToken !== undefined
        ? { automountServiceAccountToken: options.automountServiceAccountToken }
        : {}),
    },
  };
}
