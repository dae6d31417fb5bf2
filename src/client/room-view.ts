/**
 * One room on the page: its tab in the conversation list and its pane. Keeps the message list
 * de-duplicated by id and ordered by id whatever order messages arrive in (live, acknowledged,
 * paged back, or caught up after a reconnect).
 */
import type { Message } from '../shared/types.js';
import { insertOrdered, keyOf, messageKey } from './ids.js';
import { render, type Me, type Notice } from './templates.js';
import { localizeTimes } from './time.js';

const NEAR_BOTTOM_PX = 80;

/** The text of a rendered message (the macros put it in `msg-text`). */
const textOf = (el: Element): string => el.querySelector('[data-testid="msg-text"]')?.textContent ?? '';
const TYPING_SHOW_MS = 3000;

export class RoomView {
  readonly list: HTMLOListElement;
  readonly scroller: HTMLElement;
  readonly input: HTMLInputElement;
  unread = 0;
  loadingOlder = false;
  /**
   * Everything up to this id is known to be shown: the newest id when the page was rendered or
   * the connection dropped. Catch-up starts here, not at the newest id shown, because an own
   * message sent across a reconnect is acknowledged with an id newer than the ones missed.
   */
  resumeAfter: string | undefined;
  private readonly typists = new Map<string, { name: string; timer: number }>();

  constructor(
    readonly roomId: string,
    readonly conv: HTMLElement,
    readonly pane: HTMLElement,
    private readonly me: Me,
  ) {
    this.list = pane.querySelector<HTMLOListElement>('[data-testid="messages"]')!;
    this.scroller = pane.querySelector<HTMLElement>('[data-testid="msg-scroll"]')!;
    this.input = pane.querySelector<HTMLInputElement>('[data-testid="msg-input"]')!;
    localizeTimes(pane);
    this.resumeAfter = this.lastId();
  }

  get roomName(): string {
    return this.conv.dataset.roomName ?? this.roomId;
  }

  get complete(): boolean {
    return this.pane.dataset.complete === 'true';
  }

  set complete(done: boolean) {
    this.pane.dataset.complete = String(done);
    this.pane.querySelector<HTMLElement>('[data-testid="load-older"]')!.hidden = done;
    this.pane.querySelector<HTMLElement>('[data-testid="history-start"]')!.hidden = !done;
  }

  has(id: string): boolean {
    return this.list.querySelector(`[data-msg-id="${CSS.escape(id)}"]`) !== null;
  }

  /** Newest acknowledged id shown (the list is ordered, so the last one that has an id). */
  lastId(): string | undefined {
    for (let el = this.list.lastElementChild; el; el = el.previousElementSibling) {
      const id = (el as HTMLElement).dataset.msgId;
      if (id) return id;
    }
    return undefined;
  }

  oldestId(): string | undefined {
    return this.list.querySelector<HTMLElement>('[data-msg-id]')?.dataset.msgId;
  }

  nearBottom(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** Adds messages not shown yet; returns the ones that were new. */
  addMessages(messages: readonly Message[]): Message[] {
    const stick = this.nearBottom();
    const added: Message[] = [];
    for (const m of messages) {
      if (this.has(m.id)) continue;
      const el = render.message(m, this.me);
      insertOrdered(this.list, el, messageKey(m.id));
      localizeTimes(el);
      added.push(m);
      this.stopTyping(m.uid);
    }
    if (added.length > 0) {
      this.updatePreview();
      if (stick) this.scrollToBottom();
    }
    return added;
  }

  /** Older messages above the current ones, keeping what the reader looks at in place. */
  prependOlder(messages: readonly Message[]): number {
    const before = this.scroller.scrollHeight;
    const top = this.scroller.scrollTop;
    let n = 0;
    for (const m of messages) {
      if (this.has(m.id)) continue;
      const el = render.message(m, this.me);
      insertOrdered(this.list, el, messageKey(m.id));
      localizeTimes(el);
      n++;
    }
    this.scroller.scrollTop = top + (this.scroller.scrollHeight - before);
    return n;
  }

  addNotice(n: Notice): void {
    const stick = this.nearBottom();
    const el = render.notice(n, this.lastId() ?? '');
    const key = keyOf(el);
    if (key) insertOrdered(this.list, el, key);
    else this.list.append(el);
    localizeTimes(el);
    if (stick) this.scrollToBottom();
  }

  /** An own message shown at once as "sending"; settled by `settle` when acknowledged. */
  addPending(text: string): HTMLElement {
    const el = render.pending(text, new Date().toISOString());
    this.list.append(el);
    localizeTimes(el);
    this.scrollToBottom();
    return el;
  }

  /** The server stored the pending message as `id`. */
  settle(el: HTMLElement, id: string, time: string): void {
    const text = textOf(el);
    el.remove();
    // Rendered anew as a stored message (addMessages skips it when its internal_msg came first).
    const { uid, name, picture } = this.me;
    this.addMessages([{ id, room_id: this.roomId, uid, name, picture, msg: text, time, type: 'user' }]);
  }

  /**
   * An own message came back through internal_msg before its acknowledgement: it takes over the
   * oldest pending copy with the same text, so the message never shows twice.
   */
  adoptPending(m: Message): boolean {
    for (const el of this.list.querySelectorAll<HTMLElement>('[data-state="sending"]')) {
      if (textOf(el) === m.msg) {
        this.settle(el, m.id, m.time);
        return true;
      }
    }
    return false;
  }

  fail(el: HTMLElement, reason: string): void {
    const failed = render.failed(textOf(el), el.querySelector('time')!.dateTime, reason);
    el.replaceWith(failed);
    localizeTimes(failed);
  }

  /** A failed copy of a message that reached the server after all (e.g. sent across a reconnect). */
  dropFailedCopy(text: string): void {
    for (const el of this.list.querySelectorAll<HTMLElement>('[data-state="failed"]')) {
      if (textOf(el) === text) {
        el.remove();
        return;
      }
    }
  }

  /** The conversation's preview line, rendered by the conv macro's own `conv_last`. */
  private updatePreview(): void {
    const last = this.lastWithId();
    if (!last) return;
    const kind = last.dataset.kind;
    const name = kind === 'own' ? this.me.name : (last.querySelector('[data-testid="msg-name"]')?.textContent ?? '');
    const preview = render.convLast({ type: kind === 'server' ? 'server' : 'user', name, msg: textOf(last) });
    this.conv.querySelector('[data-testid="conv-last"]')!.replaceWith(preview);
  }

  private lastWithId(): HTMLElement | null {
    const id = this.lastId();
    return id ? this.list.querySelector<HTMLElement>(`[data-msg-id="${CSS.escape(id)}"]`) : null;
  }

  setUnread(n: number): void {
    this.unread = n;
    const badge = this.conv.querySelector<HTMLElement>('[data-testid="unread-badge"]')!;
    badge.hidden = n === 0;
    badge.querySelector('.unread-count')!.textContent = String(n);
  }

  showTyping(uid: string, name: string): void {
    const prev = this.typists.get(uid);
    if (prev) window.clearTimeout(prev.timer);
    const timer = window.setTimeout(() => this.stopTyping(uid), TYPING_SHOW_MS);
    this.typists.set(uid, { name, timer });
    this.renderTyping();
  }

  stopTyping(uid: string): void {
    const t = this.typists.get(uid);
    if (!t) return;
    window.clearTimeout(t.timer);
    this.typists.delete(uid);
    this.renderTyping();
  }

  private renderTyping(): void {
    const names = [...this.typists.values()].map((t) => t.name);
    const el = this.pane.querySelector<HTMLElement>('[data-testid="typing"]')!;
    if (names.length === 0) el.textContent = '';
    else if (names.length === 1) el.textContent = `${names[0]} is typing…`;
    else if (names.length === 2) el.textContent = `${names[0]} and ${names[1]} are typing…`;
    else el.textContent = 'Several people are typing…';
  }

  destroy(): void {
    for (const t of this.typists.values()) window.clearTimeout(t.timer);
    this.conv.remove();
    this.pane.remove();
  }
}
