/** `internal_msg`: a stored message, live. Own ones settle their outbox copy by client_id. */
import type { Message } from '../../shared/types.js';
import { receive } from '../state/rooms.js';
import type { EventContext } from './context.js';

export function onInternalMsg({ store }: EventContext, m: Message): void {
  store.update((s) => receive(s, m.room_id, [m], 'live', Date.now()));
}
