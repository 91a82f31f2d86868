// Hides credentials that a wrapped process prints before its output leaves the machine: API keys
// (`sk-…`), bearer tokens, `api_key=…` / `token: …` style assignments, AWS access key ids, GitHub
// and Slack tokens. It errs on the side of hiding: a false positive costs a few characters of a
// log line, a miss leaks a key into a shared dashboard.

export const REDACTED = '[REDACTED]';

/** Names whose value is a secret when assigned with `=` or `:`, in any case, `_`/`-` tolerant. */
const SECRET_NAME =
  '(?:[A-Za-z0-9]+[_-])*(?:api[_-]?key|apikey|access[_-]?key|secret[_-]?key|secret|token|auth[_-]?token|access[_-]?token|refresh[_-]?token|password|passwd|pwd|client[_-]?secret|private[_-]?key)';

const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // `api_key=abc`, `"token": "abc"`, `password: abc`, `x-api-key: abc`: keep the name, hide the value.
  [
    new RegExp(
      `\\b(${SECRET_NAME})(["']?\\s*[:=]\\s*["']?)(?!${escape(REDACTED)})[^\\s"'&,;}<>]{3,}`,
      'gi',
    ),
    `$1$2${REDACTED}`,
  ],
  // `Authorization: Bearer <token>` and any other bearer token.
  [/\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, `$1${REDACTED}`],
  // OpenAI / Anthropic style keys: sk-…, sk-proj-…, sk-ant-api03-….
  [/\bsk-[A-Za-z0-9_-]{16,}/g, REDACTED],
  // AWS access key ids.
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, REDACTED],
  // GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_) and Slack tokens.
  [/\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g, REDACTED],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, REDACTED],
];

function escape(text: string): string {
  return text.replace(/[[\]\\^$.*+?(){}|]/g, '\\$&');
}

export function redactSecrets(text: string): string {
  let result = text;
  for (const [pattern, replacement] of PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

/** Every string inside a JSON value, redacted (objects and arrays are copied, not changed). */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map(redactValue) as T;
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = redactValue(item);
    return copy as T;
  }
  return value;
}
