/** `read`: the user's read mark moved (here, in another tab or on another device): the room's count follows. */
import type { ReadEvent } from '../../shared/types.js';
import { applyRead } from '../state/reads.js';
import type { EventContext } from './context.js';

export function onRead({ store }: EventContext, r: ReadEvent): void {
  store.update((s) => applyRead(s, r.room_id, r.last_read));
}
