/**
 * The "New chat" dialog: finds people on the server as you type (GET /chat/get_users?q=<prefix>,
 * debounced, at most PEOPLE_SHOWN: it works however many users there are), lists them through
 * the user_entry macro with whether they are online, and creates the group (POST
 * /chat/create_chat, same origin). People ticked stay ticked, and listed first, across searches.
 * A chat needs a name and at least one other person: each missing one is said beside its field
 * (and goes once it is given), and nothing is sent. "Message" on a person is ./direct.ts's.
 */
import type { RoomRef } from '../shared/types.js';
import { render, type DirectoryEntry } from './templates.js';

/** People listed per search, and the pause after a keystroke before searching. */
export const PEOPLE_SHOWN = 50;
const SEARCH_DELAY_MS = 250;

interface BootstrapModal {
  show(): void;
  hide(): void;
}

declare global {
  interface Window {
    bootstrap?: {
      Modal: { getOrCreateInstance(el: Element): BootstrapModal };
      Offcanvas: { getOrCreateInstance(el: Element): BootstrapModal };
    };
  }
}

type CreateResponse = { status: 'OK'; room_id: string; room_name: string } | { status: 'ERROR'; error: string };

export const NAME_MISSING = 'Give the chat a name.';
export const NOBODY = 'Pick at least one person to chat with.';

/** `closed` settles once the dialog has finished closing (and given focus back). */
export function setupNewChat(onCreated: (room: RoomRef, closed: Promise<void>) => void): void {
  const modal = document.getElementById('new-chat-modal');
  const form = document.getElementById('new-chat-form') as HTMLFormElement | null;
  if (!modal || !form) return;
  const q = <T extends HTMLElement>(testid: string): T => modal.querySelector<T>(`[data-testid="${testid}"]`)!;
  const list = q<HTMLUListElement>('new-chat-users');
  const searchInput = q<HTMLInputElement>('new-chat-search');
  const nameInput = q<HTMLInputElement>('new-chat-name');
  const status = q<HTMLElement>('new-chat-status');
  const error = q<HTMLElement>('new-chat-error');
  const create = q<HTMLButtonElement>('new-chat-create');
  const nameError = q<HTMLElement>('new-chat-name-error');
  const peopleError = q<HTMLElement>('new-chat-people-error');

  const setNameError = (text: string): void => {
    nameError.textContent = text;
    nameInput.classList.toggle('is-invalid', text !== '');
    nameInput.setAttribute('aria-invalid', String(text !== ''));
  };
  const setPeopleError = (text: string): void => {
    peopleError.textContent = text;
    peopleError.hidden = text === '';
  };
  /** Ticked people (uid → entry), kept across searches. */
  const picked = new Map<string, DirectoryEntry>();
  const ticked = (): string[] => [...picked.keys()];
  nameInput.addEventListener('input', () => {
    if (nameInput.value.trim() !== '') setNameError('');
  });
  list.addEventListener('change', (e) => {
    const box = e.target as HTMLInputElement;
    if (box.name !== 'users') return;
    const entry = listed.get(box.value);
    if (box.checked && entry) picked.set(box.value, entry);
    else picked.delete(box.value);
    if (picked.size > 0) setPeopleError('');
  });

  const showError = (text: string): void => {
    error.textContent = text;
    error.hidden = text === '';
  };

  /** The people of the last answer, by uid (the ticked ones among them). */
  let listed = new Map<string, DirectoryEntry>();
  let searching: AbortController | null = null;
  let timer = 0;

  /** The answer's people, the ticked ones first (whether found this time or not), each ticked as picked. */
  const show = (found: Record<string, DirectoryEntry>, query: string): void => {
    const rest = Object.entries(found).filter(([uid]) => !picked.has(uid));
    const entries = [...[...picked].map(([uid, u]) => [uid, found[uid] ?? u] as const), ...rest];
    listed = new Map(entries);
    list.replaceChildren(
      ...entries.map(([uid, u]) => {
        const li = render.userEntry(uid, u);
        li.querySelector<HTMLInputElement>('input[name="users"]')!.checked = picked.has(uid);
        return li;
      }),
    );
    const n = Object.keys(found).length;
    status.textContent =
      n === 0
        ? query
          ? `Nobody's name starts with “${query}”.`
          : 'Nobody else is here yet.'
        : n >= PEOPLE_SHOWN
          ? `The first ${n} people${query ? ` whose name starts with “${query}”` : ''}: type more of a name to narrow it.`
          : `${n} ${n === 1 ? 'person' : 'people'}${query ? ` whose name starts with “${query}”` : ''}`;
  };

  /** Asks the server for the people whose name starts with the search text; a newer search cancels it. */
  const search = async (): Promise<void> => {
    window.clearTimeout(timer);
    searching?.abort();
    const ctrl = new AbortController();
    searching = ctrl;
    const query = searchInput.value.trim();
    showError('');
    status.textContent = 'Searching…';
    try {
      const params = new URLSearchParams({ q: query, limit: String(PEOPLE_SHOWN) });
      const res = await fetch(`/chat/get_users?${params.toString()}`, {
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
        signal: ctrl.signal,
      });
      if (!res.ok) throw new Error(`could not load people (HTTP ${res.status})`);
      const users = (await res.json()) as Record<string, DirectoryEntry>;
      if (ctrl.signal.aborted) return;
      show(users, query);
    } catch (err) {
      if (ctrl.signal.aborted) return;
      status.textContent = '';
      showError(err instanceof Error ? err.message : String(err));
    }
  };

  const load = (): void => {
    showError('');
    setNameError('');
    setPeopleError('');
    picked.clear();
    searchInput.value = '';
    list.replaceChildren();
    void search();
  };

  // Bootstrap ignores hide() while the dialog is still fading in: remember when it is fully shown.
  let shown = false;
  const close = (): Promise<void> => {
    const instance = window.bootstrap?.Modal.getOrCreateInstance(modal);
    const closed = new Promise<void>((resolve) =>
      modal.addEventListener('hidden.bs.modal', () => resolve(), { once: true }),
    );
    if (shown) instance?.hide();
    else modal.addEventListener('shown.bs.modal', () => instance?.hide(), { once: true });
    return closed;
  };
  modal.addEventListener('show.bs.modal', load);
  modal.addEventListener('shown.bs.modal', () => {
    shown = true;
    nameInput.focus();
  });
  modal.addEventListener('hide.bs.modal', () => (shown = false));
  searchInput.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void search(), SEARCH_DELAY_MS);
  });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const roomName = nameInput.value.trim();
    const users = ticked();
    setNameError(roomName ? '' : NAME_MISSING);
    setPeopleError(users.length > 0 ? '' : NOBODY);
    if (!roomName) return nameInput.focus();
    if (users.length === 0) return searchInput.focus();
    create.disabled = true;
    showError('');
    void (async () => {
      try {
        const res = await fetch('/chat/create_chat', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ room_name: roomName, users }),
        });
        const body = (await res.json().catch(() => null)) as CreateResponse | null;
        if (!res.ok || !body || body.status !== 'OK') {
          throw new Error(
            body && body.status === 'ERROR' ? body.error : `could not create the chat (HTTP ${res.status})`,
          );
        }
        const closed = close();
        form.reset();
        onCreated({ room_id: body.room_id, room_name: body.room_name }, closed);
      } catch (err) {
        showError(err instanceof Error ? err.message : String(err));
      } finally {
        create.disabled = false;
      }
    })();
  });
}
