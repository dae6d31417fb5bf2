/**
 * The set of rooms on the page: the conversation list (an ARIA tablist, arrow keys move between
 * rooms) and the panes. On phone-sized screens only one of the two shows at a time.
 */
import type { Message, RoomWithMessages } from '../shared/types.js';
import { RoomView } from './room-view.js';
import { render, type Me } from './templates.js';

export const isRandomRoom = (roomId: string): boolean => roomId.startsWith('Random_');

export class Rooms {
  private readonly views = new Map<string, RoomView>();
  private activeId: string | null = null;
  private readonly convList: HTMLElement;
  private readonly panes: HTMLElement;

  constructor(
    private readonly app: HTMLElement,
    private readonly me: Me,
    /** Called for every pane added, so the page can wire its form and scrolling. */
    private readonly onPane: (view: RoomView) => void,
  ) {
    this.convList = app.querySelector<HTMLElement>('[data-testid="conv-list"]')!;
    this.panes = app.querySelector<HTMLElement>('[data-testid="panes"]')!;
    for (const conv of this.convList.querySelectorAll<HTMLElement>('[data-testid="conv"]')) {
      const id = conv.dataset.roomId!;
      const pane = document.getElementById(`pane-${id}`);
      if (pane) this.track(new RoomView(id, conv, pane, me));
    }
    const first = this.views.keys().next();
    if (!first.done) this.activate(first.value, false);
    this.convList.addEventListener('click', (e) => {
      const conv = (e.target as Element).closest<HTMLElement>('[data-testid="conv"]');
      if (conv?.dataset.roomId) this.activate(conv.dataset.roomId, true);
    });
    this.convList.addEventListener('keydown', (e) => this.onKey(e));
    this.refresh();
  }

  get(roomId: string): RoomView | undefined {
    return this.views.get(roomId);
  }

  all(): RoomView[] {
    return [...this.views.values()];
  }

  ids(): string[] {
    return [...this.views.keys()];
  }

  get active(): RoomView | undefined {
    return this.activeId ? this.views.get(this.activeId) : undefined;
  }

  /** Adds a room's tab and pane (or merges its messages into the one already shown). */
  add(room: RoomWithMessages, activate: boolean): RoomView {
    let view = this.views.get(room.room_id);
    if (view) {
      view.addMessages(room.messages);
    } else {
      const conv = render.conv(room, false);
      const pane = render.pane(room, this.me, false);
      this.convList.append(conv);
      this.panes.prepend(pane);
      view = this.track(new RoomView(room.room_id, conv, pane, this.me));
      this.refresh();
    }
    if (activate || !this.activeId) this.activate(room.room_id, activate);
    return view;
  }

  remove(roomId: string): void {
    const view = this.views.get(roomId);
    if (!view) return;
    const wasActive = this.activeId === roomId;
    view.destroy();
    this.views.delete(roomId);
    if (wasActive) {
      this.activeId = null;
      const next = this.views.keys().next();
      if (!next.done) this.activate(next.value, false);
      this.app.classList.remove('pane-open');
    }
    this.refresh();
  }

  /** Shows a room; `open` also brings its pane forward on a phone and focuses the message box. */
  activate(roomId: string, open: boolean): void {
    const view = this.views.get(roomId);
    if (!view) return;
    for (const v of this.views.values()) {
      const on = v === view;
      v.conv.classList.toggle('active', on);
      v.conv.setAttribute('aria-selected', String(on));
      v.conv.tabIndex = on ? 0 : -1;
      v.pane.hidden = !on;
    }
    this.activeId = roomId;
    view.setUnread(0);
    view.scrollToBottom();
    if (open) {
      this.app.classList.add('pane-open');
      view.input.focus();
    }
  }

  /** Phone layout: back from a pane to the conversation list. */
  closePane(): void {
    this.app.classList.remove('pane-open');
    this.active?.conv.focus();
  }

  /** A message arrived for a room: counts as unread unless the reader is looking at it. */
  noteNew(view: RoomView, added: readonly Message[]): void {
    const fromOthers = added.filter((m) => m.uid !== this.me.uid).length;
    if (fromOthers === 0) return;
    const looking = view === this.active && document.visibilityState === 'visible' && this.paneVisible();
    if (!looking) view.setUnread(view.unread + fromOthers);
  }

  private paneVisible(): boolean {
    return this.panes.offsetParent !== null;
  }

  private track(view: RoomView): RoomView {
    this.views.set(view.roomId, view);
    this.onPane(view);
    return view;
  }

  private refresh(): void {
    const empty = this.views.size === 0;
    this.app.querySelector<HTMLElement>('[data-testid="conv-empty"]')!.hidden = !empty;
    this.app.querySelector<HTMLElement>('[data-testid="no-room"]')!.hidden = !empty;
    const inRandom = this.ids().some(isRandomRoom);
    this.app.querySelector<HTMLElement>('[data-testid="random-chat"]')!.hidden = inRandom;
  }

  private onKey(e: KeyboardEvent): void {
    const tabs = [...this.convList.querySelectorAll<HTMLElement>('[data-testid="conv"]')];
    const i = tabs.indexOf(document.activeElement as HTMLElement);
    if (i < 0) return;
    let next: number;
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') next = (i + 1) % tabs.length;
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') next = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = tabs.length - 1;
    else return;
    e.preventDefault();
    const tab = tabs[next]!;
    this.activate(tab.dataset.roomId!, false);
    tab.focus();
  }
}
