// Terminal text as a terminal shows it: SGR colour and weight codes become styled pieces, every
// other escape sequence is dropped, and a carriage return keeps only what was written after it
// (a progress bar's last state). Escape codes are never shown as text.
import { element } from './element.ts';

export interface AnsiPiece {
  text: string;
  /** CSS classes: ansi-fg-0..15, ansi-bg-0..15, ansi-bold, ansi-dim, ansi-italic, ansi-underline. */
  classes: string[];
}

// CSI (ESC [ … final byte), OSC (ESC ] … BEL or ESC \), and any other two-byte escape.
const ESCAPE = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?/g;

interface Style {
  fg?: number;
  bg?: number;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

function applySgr(style: Style, params: string): Style {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => Number(p) || 0);
  let next = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code === 0) next = {};
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 22) next.bold = next.dim = false;
    else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if (code >= 30 && code <= 37) next.fg = code - 30;
    else if (code >= 90 && code <= 97) next.fg = code - 90 + 8;
    else if (code === 39) delete next.fg;
    else if (code >= 40 && code <= 47) next.bg = code - 40;
    else if (code >= 100 && code <= 107) next.bg = code - 100 + 8;
    else if (code === 49) delete next.bg;
    else if (code === 38 || code === 48) {
      // 256-colour and true-colour: the first 16 of the palette are kept, the rest left plain.
      const mode = codes[i + 1];
      const index = codes[i + 2];
      if (mode === 5 && index !== undefined && index < 16) {
        if (code === 38) next.fg = index;
        else next.bg = index;
      }
      i += mode === 5 ? 2 : mode === 2 ? 4 : 1;
    }
  }
  return next;
}

function classesOf(style: Style): string[] {
  const classes: string[] = [];
  if (style.fg !== undefined) classes.push(`ansi-fg-${style.fg}`);
  if (style.bg !== undefined) classes.push(`ansi-bg-${style.bg}`);
  if (style.bold) classes.push('ansi-bold');
  if (style.dim) classes.push('ansi-dim');
  if (style.italic) classes.push('ansi-italic');
  if (style.underline) classes.push('ansi-underline');
  return classes;
}

/** After a carriage return a terminal overwrites the line: keep what came last. */
function afterCarriageReturn(text: string): string {
  const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text;
  const at = trimmed.lastIndexOf('\r');
  return at === -1 ? trimmed : trimmed.slice(at + 1);
}

export function parseAnsi(raw: string): AnsiPiece[] {
  const text = afterCarriageReturn(raw);
  const pieces: AnsiPiece[] = [];
  let style: Style = {};
  let at = 0;
  const push = (part: string) => {
    if (part) pieces.push({ text: part, classes: classesOf(style) });
  };
  for (const match of text.matchAll(ESCAPE)) {
    push(text.slice(at, match.index));
    at = match.index + match[0].length;
    if (match[2] === 'm') style = applySgr(style, match[1] ?? '');
  }
  push(text.slice(at));
  return pieces;
}

/** The text without any escape code, for search. */
export function stripAnsi(raw: string): string {
  return parseAnsi(raw)
    .map((piece) => piece.text)
    .join('');
}

/** Fills `node` with the styled pieces of `raw`. */
export function renderAnsi(node: HTMLElement, raw: string): void {
  const pieces = parseAnsi(raw);
  if (pieces.length <= 1 && (pieces[0]?.classes.length ?? 0) === 0) {
    node.textContent = pieces[0]?.text ?? '';
    return;
  }
  node.replaceChildren(
    ...pieces.map((piece) =>
      piece.classes.length === 0
        ? piece.text
        : element('span', { class: piece.classes.join(' '), text: piece.text }),
    ),
  );
}
