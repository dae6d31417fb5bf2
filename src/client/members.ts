/**
 * The members panel (views/chat.njk #members-panel, a Bootstrap offcanvas dialog labelled by its
 * title). The Members button in a room's header opens it and asks `members`; it lists the room's
 * roster from the state (./state/presence.ts) through the member_entry macro — presence dot, the
 * same in words for screen readers, "Message" — under the count ("5 members, 2 online"), and
 * follows `presence` events, joins and exits while open. Bootstrap moves focus into it and closes
 * it on Esc; focus then goes back to the Members button. Asked again on a reconnect.
 */
import { roomLabel } from '../shared/room-label.js';
import { reasonOf, type ChatSocket, type Request } from './request.js';
import { openPanel, presenceOf, rosterOrder, rosterSummary, setRoster, type Presence } from './state/presence.js';
import type { ChatState, Person } from './state/types.js';
import type { Store } from './store.js';
import { render } from './templates.js';
import { patchList, type Rendered } from './view/list.js';
import type { PageView } from './view/page.js';

export interface MembersDeps {
  app: HTMLElement;
  store: Store;
  view: PageView;
  socket: ChatSocket;
  request: Request;
}

export function setUpMembers({ app, store, view, socket, request }: MembersDeps): void {
  const panel = document.getElementById('members-panel');
  if (!panel) return;
  const q = <T extends HTMLElement>(testid: string): T => panel.querySelector<T>(`[data-testid="${testid}"]`)!;
  const list = q<HTMLUListElement>('members-list');
  const count = q('members-count');
  const title = q('members-room');
  const panes = app.querySelector<HTMLElement>('[data-testid="panes"]')!;
  const offcanvas = (): { show(): void; hide(): void } | undefined =>
    window.bootstrap?.Offcanvas.getOrCreateInstance(panel);
  let rendered: Rendered | null = null;
  let renderedRoom: string | null = null;
  let trigger: HTMLElement | null = null;
  let asking = 0;
  let failure = '';

  async function ask(roomId: string): Promise<void> {
    const n = ++asking;
    failure = '';
    try {
      const res = await request('members', { room_id: roomId });
      if (n !== asking) return;
      if (!res.ok) throw new Error(res.error);
      store.update((s) => setRoster(s, roomId, res.members));
    } catch (err) {
      if (n !== asking || store.state.people.panel !== roomId) return;
      failure = `Could not load the members: ${reasonOf(err)}`;
      count.textContent = failure;
    }
  }

  function renderPanel(next: ChatState, prev: ChatState | null): void {
    const roomId = next.people.panel;
    if (!roomId) return;
    const room = next.rooms[roomId];
    // The room went (left in another tab): so does its panel.
    if (!room) return offcanvas()?.hide();
    if (prev && prev.people === next.people && prev.rooms[roomId] === room && renderedRoom === roomId) return;
    if (renderedRoom !== roomId) rendered = null;
    renderedRoom = roomId;
    const label = roomLabel(room.name, roomId);
    if (title.textContent !== label) title.textContent = label;
    const summary = rosterSummary(next, roomId) ?? (failure || 'Loading members…');
    if (count.textContent !== summary) count.textContent = summary;
    const items = rosterOrder(next, roomId).map((p) => ({ key: p.uid, data: p, version: presenceOf(next, p.uid) }));
    rendered = patchList(list, items, rendered, (item) =>
      render.memberEntry(item.data as Person, next.me, (item.version ?? '') as Presence),
    ).rendered;
  }

  panes.addEventListener('click', (e) => {
    const button = (e.target as Element).closest<HTMLElement>('[data-action="members"]');
    const roomId = button && view.roomOf(button);
    if (!button || !roomId) return;
    trigger = button;
    store.update((s) => openPanel(s, roomId));
    offcanvas()?.show();
    void ask(roomId);
  });
  panel.addEventListener('hidden.bs.offcanvas', () => {
    store.update((s) => openPanel(s, null));
    // Back to the Members button, unless focus has gone somewhere on purpose (e.g. a direct conversation).
    const lost = document.activeElement === document.body || panel.contains(document.activeElement);
    if (lost && trigger?.isConnected) trigger.focus();
    trigger = null;
  });
  // Esc closes it even before Bootstrap has finished opening it (and moved focus into it).
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && store.state.people.panel && !panel.contains(document.activeElement)) offcanvas()?.hide();
  });
  socket.on('connect', () => {
    const roomId = store.state.people.panel;
    if (roomId) void ask(roomId);
  });
  store.subscribe(renderPanel);
}
