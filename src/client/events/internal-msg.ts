/**
 * `internal_msg`: a stored message, live. Own ones settle their outbox copy by client_id. Another
 * member's new message is announced when it is in the room being read, or mentions the reader.
 */
import { roomLabel } from '../../shared/room-label.js';
import type { Message } from '../../shared/types.js';
import { hasMessage } from '../state/messages.js';
import { receive } from '../state/rooms.js';
import { mentionsMe } from '../text.js';
import type { EventContext } from './context.js';

export function onInternalMsg({ store, announce }: EventContext, m: Message): void {
  const before = store.state;
  const room = before.rooms[m.room_id];
  store.update((s) => receive(s, m.room_id, [m], 'live', Date.now()));
  if (!room || hasMessage(room, m.id) || m.uid === before.me.uid || m.type !== 'user') return;
  if (mentionsMe(m.msg, before.me.name))
    announce(`${m.name} mentioned you in ${roomLabel(room.name, room.id)}: ${m.msg}`);
  else if (before.active === m.room_id && before.looking) announce(`${m.name}: ${m.msg}`);
}
