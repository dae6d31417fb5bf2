/**
 * One room's pane, rendered from its state: the message list (through ./list.ts and the macros:
 * day separators, sender groups, links and mentions from ./rows.ts and ../text.ts), the typing
 * line, whether older history remains, and the message box's counter and error. Only the shown
 * pane is kept up to date; a hidden one catches up when shown again, so a catch-up of many rooms
 * renders only the one read.
 */
import { checkDraft } from '../composer.js';
import { compareIds } from '../ids.js';
import { roomItems } from '../state/messages.js';
import type { Me, Pending, RoomState } from '../state/types.js';
import { render } from '../templates.js';
import { tokenize } from '../text.js';
import { localizeTimes } from '../time.js';
import { patchList, type Keyed, type Rendered } from './list.js';
import { toRows, type Row } from './rows.js';

const NEAR_BOTTOM_PX = 80;
const DIVIDER_KEY = 'new';
const DIVIDER_MARGIN_PX = 8;

/** The row of the first message of others after the read mark the room was opened with. */
const firstUnread = (row: Row, mark: string, me: string): boolean =>
  row.kind === 'message' &&
  row.message.type === 'user' &&
  row.message.uid !== me &&
  compareIds(row.message.id, mark) > 0;
const OFFLINE_NOTE = 'waiting for connection…';

function typingText(names: string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

/** Who can be mentioned in the room: its members as known, everyone who wrote in it, the reader. */
function mentionable(room: RoomState, me: Me): string[] {
  const names = new Set(room.members);
  for (const m of room.messages) if (m.type === 'user') names.add(m.name);
  names.add(me.name);
  return [...names];
}

export class PaneView {
  readonly list: HTMLOListElement;
  readonly scroller: HTMLElement;
  readonly input: HTMLTextAreaElement;
  private readonly older: HTMLElement;
  private readonly start: HTMLElement;
  private readonly typing: HTMLElement;
  private readonly count: HTMLElement;
  private readonly error: HTMLElement;
  private readonly jump: HTMLButtonElement;
  private readonly jumpCount: HTMLElement;
  /** The room's newest messages have been shown (a room listed by its summary only loads when opened). */
  private loadedShown = false;
  /** What the list shows (null until this code first renders it: the server's markup is replaced). */
  private rendered: Rendered | null = null;
  private shown: { room: RoomState; outbox: readonly Pending[]; connected: boolean; day: string } | null = null;

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
    this.count = q('composer-count');
    this.error = q('composer-error');
    this.jump = q('jump-latest');
    this.jumpCount = q('jump-count');
  }

  nearBottom(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** A room being opened: its "New messages" divider near the top where it has one, else its newest messages. */
  scrollOnOpen(): void {
    const divider = this.rendered?.get(DIVIDER_KEY)?.el;
    if (!divider) return this.scrollToBottom();
    const top = this.scroller.getBoundingClientRect().top;
    this.scroller.scrollTop += divider.getBoundingClientRect().top - top - DIVIDER_MARGIN_PX;
  }

  /** "Jump to latest (n)": while the reader is scrolled up and `unread` messages came below. */
  private showJump(unread: number): void {
    const hidden = unread === 0 || this.nearBottom();
    if (this.jump.hidden !== hidden) this.jump.hidden = hidden;
    const text = `(${unread})`;
    if (!hidden && this.jumpCount.textContent !== text) this.jumpCount.textContent = text;
  }

  /** Shows the draft's counter and why it cannot be sent; answers whether it can be. */
  checkDraft(): boolean {
    const check = checkDraft(this.input.value);
    if (this.count.textContent !== check.counter) this.count.textContent = check.counter;
    if (this.error.textContent !== check.error) this.error.textContent = check.error;
    this.input.setAttribute('aria-invalid', String(check.error !== ''));
    return check.sendable;
  }

  /** Brings the shown pane up to `room` (a hidden pane is brought up to date when shown again). */
  update(room: RoomState, outbox: readonly Pending[], connected: boolean): void {
    this.older.hidden = room.complete;
    this.start.hidden = !room.complete;
    const names = typingText(room.typists.map((t) => t.name));
    if (this.typing.textContent !== names) this.typing.textContent = names;
    // "Today" becomes "Yesterday" at midnight: a new day renders the separators again.
    const day = new Date().toDateString();
    const s = this.shown;
    if (!(s && s.room === room && s.outbox === outbox && s.connected === connected && s.day === day)) {
      this.shown = { room, outbox, connected, day };
      this.patch(room, outbox, connected);
    }
    this.showJump(room.unread);
  }

  /** Renders the list, keeping the reader's place: at the bottom if they were, else on the same message. */
  private patch(room: RoomState, outbox: readonly Pending[], connected: boolean): void {
    const first = this.rendered === null;
    let stick = first || this.nearBottom();
    const anchor = stick ? null : this.anchor();
    const anchorTop = anchor ? this.rendered!.get(anchor)!.el.getBoundingClientRect().top : 0;
    const names = mentionable(room, this.me);
    const namesKey = names.join('\u0001');
    const rows = toRows(roomItems(room, outbox), this.me.uid, new Date());
    const keyed: Keyed[] = rows.map((row) => {
      if (row.kind === 'day') return { key: row.key, data: row.label };
      const v = row.cont ? 'c' : '';
      if (row.kind === 'pending')
        return { key: row.key, data: row.pending, version: `${v}${connected ? '' : 'offline'}` };
      if (row.kind === 'notice') return { key: row.key, data: row.notice, version: v };
      return { key: row.key, data: row.message, version: `${v}|${namesKey}` };
    });
    const at = room.divider === null ? -1 : rows.findIndex((r) => firstUnread(r, room.divider!, this.me.uid));
    if (at >= 0) keyed.splice(at, 0, { key: DIVIDER_KEY, data: room.divider });
    const byKey = new Map(rows.map((r) => [r.key, r]));
    const { rendered, added } = patchList(this.list, keyed, this.rendered, (k) =>
      k.key === DIVIDER_KEY ? render.newDivider() : this.renderRow(byKey.get(k.key)!, connected, names),
    );
    this.rendered = rendered;
    // The room's messages came (it was opened before they were here): shown as a room just opened.
    if (room.loaded && !this.loadedShown) {
      this.loadedShown = true;
      if (!first) return this.scrollOnOpen();
    }
    // An own message just typed: show it.
    if (added.some((k) => k.startsWith('p:'))) stick = true;
    if (stick) this.scrollToBottom();
    else if (anchor && rendered.has(anchor))
      this.scroller.scrollTop += rendered.get(anchor)!.el.getBoundingClientRect().top - anchorTop;
  }

  private renderRow(row: Row, connected: boolean, names: string[]): HTMLElement {
    if (row.kind === 'day') return render.day(row.date, row.label);
    const el =
      row.kind === 'message'
        ? render.message(row.message, this.me, {
            cont: row.cont,
            parts: row.message.type === 'user' ? tokenize(row.message.msg, names, this.me.name) : undefined,
          })
        : row.kind === 'notice'
          ? render.notice(row.notice)
          : render.pending(row.pending, connected ? '' : OFFLINE_NOTE, {
              cont: row.cont,
              parts: tokenize(row.pending.msg, names, this.me.name),
            });
    localizeTimes(el);
    return el;
  }

  /**
   * The key of the first message still (partly) in view: layout, not data. Not a day separator
   * (it stays above the older messages of its day) nor the "New messages" divider (it moves to
   * the first unread of the older ones); by key, since a message that now continues
   * a group loaded above it is rendered afresh.
   */
  private anchor(): string | null {
    const top = this.scroller.getBoundingClientRect().top;
    for (const [key, { el }] of this.rendered ?? [])
      if (!key.startsWith('d:') && key !== DIVIDER_KEY && el.getBoundingClientRect().bottom > top) return key;
    return null;
  }

  /** The outbox entry shown by `el` (a Retry or Discard button's message), by what was rendered. */
  clientIdOf(el: Element): string | undefined {
    for (const [key, r] of this.rendered ?? []) if (r.el === el && key.startsWith('p:')) return key.slice(2);
    return undefined;
  }
}
