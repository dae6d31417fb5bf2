/**
 * One room's pane, rendered from its state: the message list (through ./list.ts and the macros),
 * the typing line, and whether older history remains. Only the shown pane is kept up to date; a
 * hidden one catches up when shown again, so a catch-up of many rooms renders only the one read.
 */
import { roomItems, type Item } from '../state/messages.js';
import type { Me, Pending, RoomState } from '../state/types.js';
import { render } from '../templates.js';
import { localizeTimes } from '../time.js';
import { patchList, type Keyed, type Rendered } from './list.js';

const NEAR_BOTTOM_PX = 80;
const OFFLINE_NOTE = 'waiting for connection…';

function typingText(names: string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

export class PaneView {
  readonly list: HTMLOListElement;
  readonly scroller: HTMLElement;
  readonly input: HTMLInputElement;
  private readonly older: HTMLElement;
  private readonly start: HTMLElement;
  private readonly typing: HTMLElement;
  /** What the list shows (null until this code first renders it: the server's markup is replaced). */
  private rendered: Rendered | null = null;
  private shown: { room: RoomState; outbox: readonly Pending[]; connected: boolean } | null = null;

  constructor(
    readonly roomId: string,
    readonly el: HTMLElement,
    private readonly me: Me,
  ) {
    const q = <T extends HTMLElement>(testid: string): T => el.querySelector<T>(`[data-testid="${testid}"]`)!;
    this.list = q('messages');
    this.scroller = q('msg-scroll');
    this.input = q('msg-input');
    this.older = q('load-older');
    this.start = q('history-start');
    this.typing = q('typing');
  }

  nearBottom(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** Brings the shown pane up to `room` (a hidden pane is brought up to date when shown again). */
  update(room: RoomState, outbox: readonly Pending[], connected: boolean): void {
    this.older.hidden = room.complete;
    this.start.hidden = !room.complete;
    const names = typingText(room.typists.map((t) => t.name));
    if (this.typing.textContent !== names) this.typing.textContent = names;
    const s = this.shown;
    if (s && s.room === room && s.outbox === outbox && s.connected === connected) return;
    this.shown = { room, outbox, connected };
    this.patch(roomItems(room, outbox), connected);
  }

  /** Renders the list, keeping the reader's place: at the bottom if they were, else on the same message. */
  private patch(items: Item[], connected: boolean): void {
    const first = this.rendered === null;
    let stick = first || this.nearBottom();
    const anchor = stick ? null : this.anchor();
    const anchorTop = anchor?.getBoundingClientRect().top ?? 0;
    const keyed: Keyed[] = items.map((item) =>
      item.kind === 'pending'
        ? { key: item.key, data: item, version: connected ? '' : 'offline' }
        : { key: item.key, data: item.kind === 'message' ? item.message : item.notice },
    );
    const byKey = new Map(items.map((i) => [i.key, i]));
    const { rendered, added } = patchList(this.list, keyed, this.rendered, (k) =>
      this.renderItem(byKey.get(k.key)!, connected),
    );
    this.rendered = rendered;
    // An own message just typed: show it.
    if (added.some((k) => k.startsWith('p:'))) stick = true;
    if (stick) this.scrollToBottom();
    else if (anchor?.isConnected) this.scroller.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
  }

  private renderItem(item: Item, connected: boolean): HTMLElement {
    const el =
      item.kind === 'message'
        ? render.message(item.message, this.me)
        : item.kind === 'notice'
          ? render.notice(item.notice)
          : render.pending(item.pending, connected ? '' : OFFLINE_NOTE);
    localizeTimes(el);
    return el;
  }

  /** The first list element still (partly) in view: layout, not data. */
  private anchor(): Element | null {
    const top = this.scroller.getBoundingClientRect().top;
    for (const el of this.list.children) if (el.getBoundingClientRect().bottom > top) return el;
    return null;
  }

  /** The outbox entry shown by `el` (a Retry or Discard button's message), by what was rendered. */
  clientIdOf(el: Element): string | undefined {
    for (const [key, r] of this.rendered ?? []) if (r.el === el && key.startsWith('p:')) return key.slice(2);
    return undefined;
  }
}
