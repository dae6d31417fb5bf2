/** `presence`: a user sharing a room with the reader came online or went offline (dots, members panel). */
import type { PresenceEvent } from '../../shared/types.js';
import { setOnline } from '../state/presence.js';
import type { EventContext } from './context.js';

export function onPresence({ store }: EventContext, p: PresenceEvent): void {
  store.update((s) => setOnline(s, p.uid, p.online));
}
