/**
 * The chat page rendered from the state: a tab in the conversation list per room and a pane per
 * room opened so far (the server renders every tab but only the first room's pane, as the
 * contract says; the markup it rendered is taken over, found by element id), the open room,
 * unread badges, previews, the phone layout's pane-open class, the empty states and the
 * random-chat button. It remembers which element belongs to which room, for the event handlers.
 */
import { roomKind } from '../../shared/room-label.js';
import type { Message } from '../../shared/types.js';
import type { ChatState, RoomState } from '../state/types.js';
import { render } from '../templates.js';
import { localizeConvTime } from './conv-time.js';
import { PaneView } from './pane.js';

export const isRandomRoom = (roomId: string): boolean => roomKind(roomId) === 'random';

interface RoomElements {
  conv: HTMLElement;
  /** Made when the room is first opened. */
  pane: PaneView | undefined;
  /** The message the preview and time show (undefined: a tab made here, not rendered from the state yet). */
  last: Message | null | undefined;
}

export class PageView {
  private readonly rooms = new Map<string, RoomElements>();
  private readonly owner = new WeakMap<Element, string>();
  private readonly q = <T extends HTMLElement>(testid: string): T =>
    this.app.querySelector<T>(`[data-testid="${testid}"]`)!;
  private readonly convList = this.q('conv-list');
  private readonly panes = this.q('panes');

  constructor(private readonly app: HTMLElement) {}

  /** The room whose tab or pane holds `el`. */
  roomOf(el: Element): string | undefined {
    const box = el.closest('[data-testid="conv"], [data-testid="pane"]');
    return box ? this.owner.get(box) : undefined;
  }

  pane(roomId: string): PaneView | undefined {
    return this.rooms.get(roomId)?.pane;
  }

  conv(roomId: string): HTMLElement | undefined {
    return this.rooms.get(roomId)?.conv;
  }

  render(next: ChatState, prev: ChatState | null): void {
    for (const [id, r] of this.rooms) {
      if (next.rooms[id]) continue;
      r.conv.remove();
      r.pane?.el.remove();
      this.rooms.delete(id);
    }
    const outboxChanged = next.outbox !== prev?.outbox || next.connected !== prev?.connected;
    for (const id of next.order) {
      const room = next.rooms[id]!;
      const active = next.active === id;
      const seen = this.rooms.has(id) && prev?.rooms[id] === room && (prev?.active === id) === active;
      if (seen && !(active && outboxChanged)) continue;
      const r = this.rooms.get(id) ?? this.adopt(room, prev === null);
      this.updateConv(r, room, active);
      if (!active) {
        if (r.pane) r.pane.el.hidden = true;
        continue;
      }
      const pane = (r.pane ??= this.makePane(room, next));
      pane.el.hidden = false;
      pane.update(room, next.outbox, next.connected);
      // A room just opened shows its first unread message, or its newest.
      if (prev?.active !== id) pane.scrollOnOpen();
    }
    if (next.order !== prev?.order) this.placeConvs(next.order);
    this.app.classList.toggle('pane-open', next.paneOpen && next.active !== null);
    if (next.order !== prev?.order) {
      const empty = next.order.length === 0;
      this.q('conv-empty').hidden = !empty;
      this.q('no-room').hidden = !empty;
      this.q('random-chat').hidden = next.order.some(isRandomRoom);
    }
  }

  /** The server's tab for the room when it rendered it at load, else a new one from the macros. */
  private adopt(room: RoomState, atLoad: boolean): RoomElements {
    let conv = atLoad ? document.getElementById(`tab-${room.id}`) : null;
    // The server rendered this tab from the data the state starts from (state/rooms.ts takes the
    // same last message as the `conv` macro): its preview stands, and only its time is put in the
    // reader's locale — not 2,000 macro calls at load for a user in 1,000 rooms.
    const last = conv ? room.last : undefined;
    if (conv) localizeConvTime(conv.querySelector<HTMLElement>('[data-testid="conv-time"]')!);
    else {
      conv = render.conv({ room_id: room.id, room_name: room.name, messages: [] }, false);
      this.convList.append(conv);
    }
    this.owner.set(conv, room.id);
    const r: RoomElements = { conv, pane: undefined, last };
    this.rooms.set(room.id, r);
    return r;
  }

  /** The server's pane for the room (the first room's, at load), else a new one from the macros. */
  private makePane(room: RoomState, state: ChatState): PaneView {
    let el = document.getElementById(`pane-${room.id}`);
    if (!el || this.owner.has(el)) {
      el = render.pane({ room_id: room.id, room_name: room.name, messages: [] }, state.me, false);
      this.panes.prepend(el);
    }
    this.owner.set(el, room.id);
    return new PaneView(room.id, el, state.me);
  }

  /** The list's tabs in the state's order (newest activity first), each moved only when out of place. */
  private placeConvs(order: readonly string[]): void {
    let prev: HTMLElement | null = null;
    for (const id of order) {
      const el = this.rooms.get(id)?.conv;
      if (!el) continue;
      const place: Element | null = prev ? prev.nextElementSibling : this.convList.firstElementChild;
      if (place !== el) {
        // Moving an element takes focus from it: a tab with focus keeps it.
        const focused = document.activeElement === el;
        if (prev) prev.after(el);
        else this.convList.prepend(el);
        if (focused) el.focus();
      }
      prev = el;
    }
  }

  private updateConv(r: RoomElements, room: RoomState, active: boolean): void {
    const { conv } = r;
    conv.classList.toggle('active', active);
    conv.setAttribute('aria-selected', String(active));
    conv.tabIndex = active ? 0 : -1;
    if (room.last !== r.last) {
      r.last = room.last;
      conv.querySelector('[data-testid="conv-last"]')!.replaceWith(render.convLast(room.last));
      conv.querySelector('[data-testid="conv-time"]')!.replaceWith(localizeConvTime(render.convTime(room.last)));
    }
    const badge = conv.querySelector<HTMLElement>('[data-testid="unread-badge"]')!;
    badge.hidden = room.unread === 0;
    badge.querySelector('.unread-count')!.textContent = String(room.unread);
    const mention = conv.querySelector('[data-testid="mention-badge"]');
    if (room.mentioned && !mention) badge.before(render.mentionBadge());
    else if (!room.mentioned && mention) mention.remove();
  }
}
