// A payload as a reader wants it: objects and arrays as a collapsible tree, strings with newlines
// (stack traces, tool output, diffs) as text, a copy button on every value, and large strings and
// long lists cut with a "show all" that draws the rest on demand.
import { element } from './element.ts';

/** Strings longer than this are cut until "show all". */
export const MAX_STRING_CHARS = 2_000;
/** Objects and arrays show this many entries until "show all". */
export const MAX_ENTRIES_SHOWN = 100;
/** Levels opened at first; deeper ones start folded. */
const OPEN_DEPTH = 2;

export type CopyHandler = (value: unknown) => void;

function copyButton(path: string, value: unknown, onCopy: CopyHandler): HTMLButtonElement {
  const button = element('button', {
    type: 'button',
    class: 'json-copy',
    text: 'copy',
    'aria-label': `Copy ${path}`,
    title: `Copy ${path}`,
  });
  button.addEventListener('click', (event) => {
    event.stopPropagation();
    event.preventDefault();
    onCopy(value);
  });
  return button;
}

function keyLabel(key: string | undefined): HTMLElement | undefined {
  return key === undefined ? undefined : element('span', { class: 'json-key', text: `${key}:` });
}

function stringNode(text: string, onShowAll: () => void): HTMLElement {
  const multiline = text.includes('\n');
  const cut = text.length > MAX_STRING_CHARS;
  const shown = cut ? text.slice(0, MAX_STRING_CHARS) : text;
  const body = multiline
    ? element('pre', { class: 'json-text', text: shown })
    : element('span', {
        class: 'json-string',
        text: JSON.stringify(shown).slice(0, cut ? -1 : undefined),
      });
  if (!cut) return body;
  const more = element('button', {
    type: 'button',
    class: 'show-all',
    text: `show all (${text.length.toLocaleString('en-US')} characters)`,
  });
  more.addEventListener('click', onShowAll);
  return element('span', { class: 'json-cut' }, body, element('span', { text: '…' }), more);
}

function scalarClass(value: unknown): string {
  if (value === null) return 'json-null';
  return `json-${typeof value}`;
}

function valueNode(
  key: string | undefined,
  path: string,
  value: unknown,
  depth: number,
  onCopy: CopyHandler,
): HTMLElement {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value)
      ? value.map((item, index) => [String(index), item] as const)
      : Object.entries(value as Record<string, unknown>);
    const size = Array.isArray(value)
      ? `[${entries.length} ${entries.length === 1 ? 'item' : 'items'}]`
      : `{${entries.length} ${entries.length === 1 ? 'key' : 'keys'}}`;
    const children = element('div', { class: 'json-children' });
    const details = element(
      'details',
      { class: 'json-node', open: depth < OPEN_DEPTH },
      element(
        'summary',
        {},
        keyLabel(key) ?? '',
        element('span', { class: 'json-size', text: size }),
        copyButton(path, value, onCopy),
      ),
      children,
    );
    const draw = (limit: number) => {
      children.replaceChildren(
        ...entries
          .slice(0, limit)
          .map(([k, v]) =>
            valueNode(
              k,
              Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`,
              v,
              depth + 1,
              onCopy,
            ),
          ),
      );
      if (entries.length > limit) {
        const more = element('button', {
          type: 'button',
          class: 'show-all',
          text: `show all ${entries.length.toLocaleString('en-US')}`,
        });
        more.addEventListener('click', () => draw(entries.length));
        children.append(more);
      }
    };
    draw(MAX_ENTRIES_SHOWN);
    return details;
  }
  const row = element('div', { class: 'json-leaf' }, keyLabel(key) ?? '');
  if (typeof value === 'string') {
    const holder = element('span', { class: 'json-value' });
    const draw = (full: boolean) =>
      holder.replaceChildren(
        full
          ? value.includes('\n')
            ? element('pre', { class: 'json-text', text: value })
            : element('span', { class: 'json-string', text: JSON.stringify(value) })
          : stringNode(value, () => draw(true)),
      );
    draw(false);
    row.classList.toggle('multiline', value.includes('\n'));
    row.append(holder);
  } else {
    row.append(
      element('span', {
        class: `json-value ${scalarClass(value)}`,
        text: value === undefined ? 'undefined' : JSON.stringify(value),
      }),
    );
  }
  row.append(copyButton(path, value, onCopy));
  return row;
}

/** The tree of `value`, named `rootName` in the copy buttons' labels. */
export function jsonTree(value: unknown, rootName: string, onCopy: CopyHandler): HTMLElement {
  return element('div', { class: 'json-tree' }, valueNode(undefined, rootName, value, 0, onCopy));
}
