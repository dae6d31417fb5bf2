/**
 * The conversation list's presence dots: a direct conversation's tab shows whether its other
 * person is online (dot on the icon, words after the name for screen readers). Kept apart from
 * ./page.ts, which owns the rest of the tab: it re-applies to a tab element it has not seen.
 */
import { isDirectRoom } from '../../shared/room-label.js';
import { peerPresence, type Presence } from '../state/presence.js';
import type { ChatState } from '../state/types.js';
import { render } from '../templates.js';
import type { PageView } from './page.js';

export class ConvPresenceView {
  /** What each tab element shows now (a new element, e.g. re-rendered, has no entry). */
  private readonly shown = new WeakMap<HTMLElement, Presence>();

  constructor(private readonly page: PageView) {}

  render(next: ChatState, prev: ChatState | null): void {
    if (prev && next.people === prev.people && next.order === prev.order && next.rooms === prev.rooms) return;
    for (const id of next.order) {
      if (!isDirectRoom(id)) continue;
      const conv = this.page.conv(id);
      if (!conv) continue;
      const presence = peerPresence(next, id);
      if ((this.shown.get(conv) ?? '') === presence) continue;
      this.shown.set(conv, presence);
      conv.querySelector('[data-testid="presence"]')?.replaceWith(render.presenceDot(presence));
      conv.querySelector('[data-testid="presence-text"]')?.replaceWith(render.presenceText(presence));
    }
  }
}
