// Bounds the strings inside an event a wrapped process produced (a tool's whole file read, a
// written file's content), so one event never comes near the server's body limit. A cut string
// says so and how much was left out: shortened, never silently.

/** The longest string kept whole in a structured event's payload. */
export const MAX_PAYLOAD_STRING_CHARS = 32 * 1024;

export function capString(text: string, maxChars = MAX_PAYLOAD_STRING_CHARS): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}… [${text.length - maxChars} more characters not recorded]`;
}

/** A copy of a JSON value with every string capped. */
export function capStrings<T>(value: T, maxChars = MAX_PAYLOAD_STRING_CHARS): T {
  if (typeof value === 'string') return capString(value, maxChars) as T;
  if (Array.isArray(value)) return value.map((item) => capStrings(item, maxChars)) as T;
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = capStrings(item, maxChars);
    return copy as T;
  }
  return value;
}
