// Any value as JSON on one line, cut to `max` characters: for summaries and table cells.
export function compactJson(value: unknown, max = 240): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
