/** `joined`, `join_random`, `exit_room`: a socket's rooms and the user's membership. */
import { roomChannel } from '../store/fanout.js';
import type { Ack, AckOk } from '../shared/events.js';
import { ERRORS, LIMITS } from '../shared/limits.js';
import { emptyPayload, roomPayload } from '../shared/schemas.js';
import type { RoomRef, RoomSummary } from '../shared/types.js';
import type { ChatStore } from '../store/types.js';
import { Refusal } from './handler.js';
import type { Notifier } from './notify.js';
import type { ChatSocket } from './types.js';
import { parsePayload } from './validate.js';

export interface RoomHandlerDeps {
  store: ChatStore;
  notify: Notifier;
}

export function createRoomHandlers({ store, notify }: RoomHandlerDeps) {
  return {
    async joined(socket: ChatSocket, payload: unknown): Promise<Ack<{ rooms: RoomSummary[] }>> {
      parsePayload(emptyPayload, payload);
      const user = socket.data;
      // Summaries without messages: one round trip, newest activity first (CONTRACT).
      const rooms = (await store.roomSummaries(user.uid, 0, 0)).map(({ messages: _m, ...summary }) => summary);
      await socket.join(rooms.map((r) => roomChannel(r.room_id)));
      // Only when the user comes online (CONTRACT): not on every reload, reconnect, extra tab or
      // repeated `joined` — one user once pushed 106,000 notices to another that way.
      if (user.announce) {
        user.announce = false;
        for (const r of rooms) notify.status('join', user, r.room_id);
      }
      return { ok: true, rooms };
    },

    async join_random(socket: ChatSocket, payload: unknown): Promise<Ack<RoomRef>> {
      parsePayload(emptyPayload, payload);
      const user = socket.data;
      const result = await store.joinRandom(user);
      await socket.join(roomChannel(result.room.room_id));
      if (result.joined) {
        // A room made by this join holds only its opening message: no need to read it back.
        const messages = result.opening
          ? [result.opening]
          : await store.history(result.room.room_id, { limit: LIMITS.pageMessages });
        // The user's other tabs (on any node) open the room too.
        notify.roomAdded({ ...result.room, messages }, [user.uid], socket.id);
        notify.status('join', user, result.room.room_id);
      }
      const ack: AckOk<RoomRef> = { ok: true, room_id: result.room.room_id, room_name: result.room.room_name };
      return ack;
    },

    async exit_room(socket: ChatSocket, payload: unknown): Promise<Ack> {
      const { room_id } = parsePayload(roomPayload, payload);
      const user = socket.data;
      // One store call: leaving reports whether the user was a member (and changes nothing when
      // not), so no separate membership read, and no window between checking and leaving.
      const { left } = await store.leaveRoom(user.uid, room_id);
      if (!left) throw new Refusal(ERRORS.notMember);
      notify.roomRemoved(user.uid, room_id, socket.id);
      notify.status('exit', user, room_id);
      return { ok: true };
    },
  };
}
