/**
 * The "New chat" dialog: lists the people (GET /chat/get_users) through the user_entry macro,
 * filters them as you type, and creates the group (POST /chat/create_chat, same origin). A chat
 * needs a name and at least one other person: each missing one is said beside its field (and
 * goes once it is given), and nothing is sent.
 */
import type { RoomRef } from '../shared/types.js';
import { render, type DirectoryEntry } from './templates.js';

interface BootstrapModal {
  show(): void;
  hide(): void;
}

declare global {
  interface Window {
    bootstrap?: { Modal: { getOrCreateInstance(el: Element): BootstrapModal } };
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
  const search = q<HTMLInputElement>('new-chat-search');
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
  const ticked = (): string[] =>
    [...list.querySelectorAll<HTMLInputElement>('input[name="users"]:checked')].map((c) => c.value);
  nameInput.addEventListener('input', () => {
    if (nameInput.value.trim() !== '') setNameError('');
  });
  list.addEventListener('change', () => {
    if (ticked().length > 0) setPeopleError('');
  });

  const showError = (text: string): void => {
    error.textContent = text;
    error.hidden = text === '';
  };

  const filter = (): void => {
    const needle = search.value.trim().toLowerCase();
    let shown = 0;
    for (const li of list.querySelectorAll<HTMLElement>('[data-testid="user-entry"]')) {
      li.hidden = needle !== '' && !(li.dataset.search ?? '').includes(needle);
      if (!li.hidden) shown++;
    }
    status.textContent = shown === 0 ? 'Nobody found.' : `${shown} ${shown === 1 ? 'person' : 'people'}`;
  };

  const load = async (): Promise<void> => {
    showError('');
    setNameError('');
    setPeopleError('');
    status.textContent = 'Loading people…';
    list.replaceChildren();
    try {
      const res = await fetch('/chat/get_users', {
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
      });
      if (!res.ok) throw new Error(`could not load people (HTTP ${res.status})`);
      const users = (await res.json()) as Record<string, DirectoryEntry>;
      const entries = Object.entries(users).sort(([, a], [, b]) => a.name.localeCompare(b.name));
      list.replaceChildren(...entries.map(([uid, u]) => render.userEntry(uid, u)));
      filter();
    } catch (err) {
      status.textContent = '';
      showError(err instanceof Error ? err.message : String(err));
    }
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
  modal.addEventListener('show.bs.modal', () => void load());
  modal.addEventListener('shown.bs.modal', () => {
    shown = true;
    nameInput.focus();
  });
  modal.addEventListener('hide.bs.modal', () => (shown = false));
  search.addEventListener('input', filter);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const roomName = nameInput.value.trim();
    const users = ticked();
    setNameError(roomName ? '' : NAME_MISSING);
    setPeopleError(users.length > 0 ? '' : NOBODY);
    if (!roomName) return nameInput.focus();
    if (users.length === 0) return search.focus();
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
