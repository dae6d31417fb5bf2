/**
 * Direct conversations. "Message" on a person — any `[data-action="direct"][data-uid]` button: the
 * members panel's, the New chat dialog's people — asks POST /chat/direct for the one conversation
 * with them (made on first use; `room_added` tells both sides, each seeing it named after the
 * other) and opens it, once the dialog or panel the button was in has closed.
 *
 * It also learns each direct conversation's other person and whether they are online (a
 * `members` answer), for the conversation list's dot: once per conversation per connection (the
 * dots were not kept while disconnected), one at a time and a few per second, so a reader with
 * hundreds of them stays far inside the per-user event budget.
 */
import { isDirectRoom } from '../shared/room-label.js';
import type { RoomRef } from '../shared/types.js';
import { reasonOf, type ChatSocket, type Request } from './request.js';
import { setPeer, setRoster } from './state/presence.js';
import type { Store } from './store.js';

const PEER_GAP_MS = 200;

type DirectResponse = { status: 'OK'; room_id: string; room_name: string } | { status: 'ERROR'; error: string };

export interface DirectDeps {
  store: Store;
  socket: ChatSocket;
  request: Request;
  /** Shows the room (asking its history when it is not on the page yet) with focus in its box. */
  openRoom(room: RoomRef): Promise<void>;
  showError(text: string): void;
}

/** POST /chat/direct: the room of the caller's direct conversation with `uid`. */
export async function directRoom(uid: string): Promise<RoomRef> {
  const res = await fetch('/chat/direct', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ uid }),
  });
  const body = (await res.json().catch(() => null)) as DirectResponse | null;
  if (!res.ok || !body || body.status !== 'OK')
    throw new Error(body?.status === 'ERROR' ? body.error : `HTTP ${res.status}`);
  return { room_id: body.room_id, room_name: body.room_name };
}

/** Hides the dialog or panel `el` is in (if any) and resolves once it has finished closing. */
function closeAround(el: Element): Promise<void> {
  const box = el.closest<HTMLElement>('.modal.show, .offcanvas.show');
  const bs = window.bootstrap;
  if (!box || !bs) return Promise.resolve();
  const modal = box.classList.contains('modal');
  const closed = new Promise<void>((resolve) =>
    box.addEventListener(modal ? 'hidden.bs.modal' : 'hidden.bs.offcanvas', () => resolve(), { once: true }),
  );
  (modal ? bs.Modal : bs.Offcanvas).getOrCreateInstance(box).hide();
  return closed;
}

export function setUpDirect({ store, socket, request, openRoom, showError }: DirectDeps): void {
  const busy = new Set<string>();

  async function message(button: HTMLElement, uid: string): Promise<void> {
    if (busy.has(uid)) return;
    busy.add(uid);
    button.setAttribute('aria-disabled', 'true');
    try {
      const ref = await directRoom(uid);
      store.update((s) => setPeer(s, ref.room_id, uid));
      await closeAround(button);
      await openRoom(ref);
    } catch (err) {
      showError(`Could not open the conversation: ${reasonOf(err)}`);
    } finally {
      busy.delete(uid);
      button.removeAttribute('aria-disabled');
    }
  }

  document.addEventListener('click', (e) => {
    const button = (e.target as Element).closest<HTMLElement>('[data-action="direct"][data-uid]');
    if (button?.dataset.uid) void message(button, button.dataset.uid);
  });

  // The other person of each direct conversation, and their presence, one `members` at a time.
  let asked = new Set<string>();
  let generation = 0;
  let running = false;
  function pump(): void {
    if (running || !socket.connected) return;
    const roomId = store.state.order.find((id) => isDirectRoom(id) && !asked.has(id));
    if (!roomId) return;
    asked.add(roomId);
    running = true;
    const gen = generation;
    request('members', { room_id: roomId })
      .then((res) => {
        if (gen === generation && res.ok) store.update((s) => setRoster(s, roomId, res.members));
      })
      // Not known this time (e.g. the connection dropped): the dot stays as it was; asked again on reconnect.
      .catch(() => undefined)
      .finally(() => {
        running = false;
        window.setTimeout(pump, PEER_GAP_MS);
      });
  }
  socket.on('connect', () => {
    generation++;
    asked = new Set();
    pump();
  });
  store.subscribe((next, prev) => {
    if (next.order !== prev.order) pump();
  });
}
