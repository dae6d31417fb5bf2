/** `typing`: another member is typing; the indicator goes by itself (./state/rooms.ts typingExpired). */
import type { TypingEvent } from '../../shared/types.js';
import { typingStarted } from '../state/rooms.js';
import type { EventContext } from './context.js';

export function onTyping({ store }: EventContext, t: TypingEvent): void {
  store.update((s) => typingStarted(s, t.room_id, t.uid, t.name, Date.now()));
}
