/** `room_removed`: the user left the room in another tab. */
import { removeRoom } from '../state/rooms.js';
import type { EventContext } from './context.js';

export function onRoomRemoved({ store }: EventContext, { room_id }: { room_id: string }): void {
  store.update((s) => removeRoom(s, room_id));
}
