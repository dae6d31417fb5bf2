/** `room_added`: the user is in a new room (created by someone else, or joined in another tab). */
import type { RoomWithMessages } from '../../shared/types.js';
import { addRoom } from '../state/rooms.js';
import type { EventContext } from './context.js';

export function onRoomAdded({ store }: EventContext, room: RoomWithMessages): void {
  store.update((s) => addRoom(s, room));
}
