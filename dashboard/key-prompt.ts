// Asks for the API key when the server answers 401. One dialog at a time, however many requests
// are waiting; the key lives in sessionStorage (gone with the tab) and never in a URL.
import { element } from './element.ts';

const STORAGE_KEY = 'agent-ops.apiKey';

export function storedKey(): string | undefined {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function storeKey(key: string): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, key);
  } catch {
    // Storage may be disabled; the key then lasts as long as the page.
  }
}

let pending: Promise<string> | undefined;

/** Resolves with the key the user typed; `rejected` says the last key was refused. */
export function promptForKey(rejected: boolean): Promise<string> {
  pending ??= new Promise<string>((resolve) => {
    const input = element('input', {
      type: 'password',
      name: 'apiKey',
      autocomplete: 'current-password',
      'aria-label': 'API key',
      required: true,
    });
    const form = element(
      'form',
      { class: 'key-form', method: 'dialog' },
      element('h2', { text: 'API key required' }),
      element('p', {
        text: rejected
          ? 'The server refused that key. Enter the key the server was started with (AGENTOPS_API_KEY).'
          : 'This server needs an API key (AGENTOPS_API_KEY). It is kept for this tab only.',
      }),
      input,
      element('button', { type: 'submit', text: 'Use key', 'aria-label': 'Use this API key' }),
    );
    const dialog = element('dialog', { class: 'key-dialog', 'aria-label': 'API key' }, form);
    // Escape must not leave the dashboard without a way to ask again.
    dialog.addEventListener('cancel', (event) => event.preventDefault());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      storeKey(key);
      dialog.close();
      dialog.remove();
      pending = undefined;
      resolve(key);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
  return pending;
}
