// Checks a value against the subset of JSON Schema that shared/schema/*.json use: type, required,
// additionalProperties: false, properties, enum, pattern, minimum, minLength, maxLength. Returns
// the problems found, each naming its path.
type Schema = {
  type?: string;
  required?: string[];
  additionalProperties?: boolean;
  properties?: Record<string, Schema>;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export function schemaProblems(schema: Schema, value: unknown, path = '$'): string[] {
  const problems: string[] = [];
  const actual = typeOf(value);
  if (
    schema.type &&
    !(schema.type === actual || (schema.type === 'number' && actual === 'integer'))
  ) {
    return [`${path}: expected ${schema.type}, got ${actual}`];
  }
  if (schema.enum && !schema.enum.includes(value))
    problems.push(`${path}: ${String(value)} not in enum`);
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern).test(value))
      problems.push(`${path}: pattern`);
    if (schema.minLength !== undefined && value.length < schema.minLength)
      problems.push(`${path}: too short`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      problems.push(`${path}: too long`);
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value)))
      problems.push(`${path}: date-time`);
  }
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum) {
    problems.push(`${path}: below ${schema.minimum}`);
  }
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? [])
      if (!(key in object)) problems.push(`${path}.${key}: required`);
    for (const [key, child] of Object.entries(object)) {
      const sub = schema.properties?.[key];
      if (sub) problems.push(...schemaProblems(sub, child, `${path}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${path}.${key}: not allowed`);
    }
  }
  return problems;
}
