// Turns the JSON Schema zod emits into a Kubernetes *structural* OpenAPI v3 schema, the only kind
// a v1 CRD accepts: every node typed, no $ref, no additionalProperties:false, no propertyNames.
// Anything it does not know how to carry over is an error, so a schema change that the CRD
// cannot express fails `npm run crds` instead of silently weakening validation.

/** A node of a CRD's openAPIV3Schema, as plain JSON. */
export interface JsonSchemaProps {
  description?: string;
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  format?: string;
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  properties?: Record<string, JsonSchemaProps>;
  required?: string[];
  items?: JsonSchemaProps;
  additionalProperties?: JsonSchemaProps;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-validations"?: unknown[];
}

type JsonObject = Record<string, unknown>;

// The order keys are written in, so the generated YAML reads top-down.
const SCALAR_KEYS = [
  "description",
  "type",
  "format",
  "enum",
  "default",
  "pattern",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
] as const;
const KUBERNETES_KEYS = [
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-int-or-string",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-validations",
] as const;
const STRUCTURE_KEYS = ["properties", "required", "items", "additionalProperties"] as const;
// Emitted by zod but meaningless (or forbidden) in a CRD; validation they imply is done by parseSpec.
const DROPPED_KEYS = new Set(["$schema", "$id", "id", "title", "propertyNames", "$defs", "definitions"]);
const KNOWN_KEYS = new Set<string>([
  ...SCALAR_KEYS,
  ...KUBERNETES_KEYS,
  ...STRUCTURE_KEYS,
  "$ref",
  ...DROPPED_KEYS,
]);

const INT32 = { min: -2147483648, max: 2147483647 };
const SAFE_INTEGER = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };

/** Converts a JSON Schema document (e.g. from z.toJSONSchema) into a structural CRD schema. */
export function toStructural(document: JsonObject): JsonSchemaProps {
  const definitions = { ...asObject(document.definitions), ...asObject(document.$defs) };
  return convert(document, definitions, "", new Set());
}

function convert(
  input: JsonObject,
  definitions: JsonObject,
  path: string,
  resolving: Set<string>,
): JsonSchemaProps {
  if (typeof input.$ref === "string") return convertRef(input, definitions, path, resolving);
  const node = input;
  for (const key of Object.keys(node)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new Error(`${path || "<root>"}: "${key}" cannot be expressed in a structural CRD schema`);
    }
  }
  const out: JsonObject = {};
  for (const key of SCALAR_KEYS) if (node[key] !== undefined) out[key] = node[key];
  normaliseInteger(out);
  // zod adds its own JavaScript date-time regex; the apiserver checks `format` with Go's parser.
  if (out.format === "date-time") delete out.pattern;
  // A pattern restated as a CEL rule with a message: the apiserver then answers with the sentence,
  // not the bare regular expression.
  if (typeof out.pattern === "string" && patternIsRule(out.pattern, node["x-kubernetes-validations"])) {
    delete out.pattern;
  }

  const properties = asObject(node.properties);
  if (node.properties !== undefined) {
    out.properties = Object.fromEntries(
      Object.entries(properties).map(([name, child]) => [
        name,
        convert(asObject(child), definitions, `${path}.${name}`, resolving),
      ]),
    );
  }
  if (Array.isArray(node.required) && node.required.length > 0) out.required = [...node.required];
  if (node.items !== undefined) {
    if (Array.isArray(node.items)) throw new Error(`${path}: tuple items are not structural`);
    out.items = convert(asObject(node.items), definitions, `${path}[]`, resolving);
  }
  const additional = node.additionalProperties;
  const isMap = typeof additional === "object" && additional !== null && Object.keys(additional).length > 0;
  if (isMap) {
    if (node.properties !== undefined)
      throw new Error(`${path}: properties and additionalProperties together`);
    out.additionalProperties = convert(asObject(additional), definitions, `${path}{}`, resolving);
  }
  // additionalProperties false (the default: unknown fields are pruned) or {} (loose object) is dropped.

  for (const key of KUBERNETES_KEYS) if (node[key] !== undefined) out[key] = node[key];
  if (out.type === undefined && out["x-kubernetes-preserve-unknown-fields"] !== true) {
    throw new Error(`${path || "<root>"}: every node needs a type`);
  }
  return out as JsonSchemaProps;
}

/** Inlines a $ref; a definition that refers to itself cannot be inlined and is an error. */
function convertRef(node: JsonObject, definitions: JsonObject, path: string, resolving: Set<string>) {
  const { $ref: ref, ...siblings } = node;
  const name = String(ref).replace(/^#\/(\$defs|definitions)\//, "");
  if (resolving.has(name)) throw new Error(`${path}: recursive $ref ${String(ref)} cannot be inlined`);
  const target = definitions[name];
  if (target === undefined) throw new Error(`${path}: unresolvable $ref ${String(ref)}`);
  resolving.add(name);
  try {
    // Sibling keywords (e.g. a description on the reference) win over the definition's own.
    return convert({ ...asObject(target), ...siblings }, definitions, path, resolving);
  } finally {
    resolving.delete(name);
  }
}

/** Replaces zod's implicit integer bounds with the matching OpenAPI format. */
function normaliseInteger(node: JsonObject): void {
  if (node.type !== "integer") return;
  if (node.maximum === INT32.max) {
    node.format ??= "int32";
    delete node.maximum;
  } else if (node.maximum === SAFE_INTEGER.max) {
    node.format ??= "int64";
    delete node.maximum;
  }
  if (node.minimum === INT32.min || node.minimum === SAFE_INTEGER.min) delete node.minimum;
}

function asObject(value: unknown): JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}

/** The CEL rule that checks a pattern, as patternRule writes it. */
export function patternRule(pattern: string, message: string): { rule: string; message: string } {
  return { rule: `self.matches('${pattern}')`, message };
}

function patternIsRule(pattern: string, rules: unknown): boolean {
  if (!Array.isArray(rules)) return false;
  return rules.some(
    (r) =>
      typeof r === "object" && r !== null && (r as { rule?: unknown }).rule === `self.matches('${pattern}')`,
  );
}
