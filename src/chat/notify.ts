/**
 * Membership changes told to every affected socket on every node. Sockets are addressed through
 * their user's room (`user:<uid>`), so all tabs of a user follow, wherever they are connected;
 * the Redis adapter relays these to the other nodes.
 */
import { userChannel } from '../shared/events.js';
import { roomChannel } from '../store/fanout.js';
import type { RoomRef, RoomWithMessages, StatusEvent, UserProfile } from '../shared/types.js';
import type { ChatNamespace } from './types.js';

export interface Notifier {
  /** The users' sockets join the room and hear `room_added` (all but `exceptSocket`). */
  roomAdded(room: RoomWithMessages, uids: string[], exceptSocket?: string): void;
  /** The user's sockets leave the room; all but `exceptSocket` hear `room_removed`. */
  roomRemoved(uid: string, roomId: string, exceptSocket?: string): void;
  status(type: StatusEvent['type'], user: Pick<UserProfile, 'uid' | 'name' | 'picture'>, roomId: string): void;
  /** Tells the other members of the user's rooms, on every node, that the user came or went. */
  presence(uid: string, online: boolean, rooms: readonly RoomRef[]): void;
  /** Disconnects sockets (sign-out); the channel is `user:<uid>` or `session:<id>`. */
  disconnect(channel: string): void;
}

export const sessionChannel = (sessionId: string): string => `session:${sessionId}`;

export function createNotifier(nsp: ChatNamespace): Notifier {
  return {
    roomAdded(room, uids, exceptSocket) {
      if (uids.length === 0) return;
      const users = uids.map(userChannel);
      nsp.in(users).socketsJoin(roomChannel(room.room_id));
      const target = exceptSocket ? nsp.to(users).except(exceptSocket) : nsp.to(users);
      target.emit('room_added', room);
    },
    roomRemoved(uid, roomId, exceptSocket) {
      nsp.in(userChannel(uid)).socketsLeave(roomChannel(roomId));
      const target = exceptSocket ? nsp.to(userChannel(uid)).except(exceptSocket) : nsp.to(userChannel(uid));
      target.emit('room_removed', { room_id: roomId });
    },
    status(type, user, roomId) {
      nsp.to(roomChannel(roomId)).emit('status', {
        type,
        room_id: roomId,
        uid: user.uid,
        name: user.name,
        picture: user.picture,
        msg: type === 'join' ? `${user.name} has entered the room.` : `${user.name} has left the room.`,
        time: new Date().toISOString(),
      });
    },
    presence(uid, online, rooms) {
      if (rooms.length === 0) return;
      nsp
        .to(rooms.map((r) => roomChannel(r.room_id)))
        .except(userChannel(uid))
        .emit('presence', { uid, online });
    },
    disconnect(channel) {
      nsp.in(channel).disconnectSockets(true);
    },
  };
}
