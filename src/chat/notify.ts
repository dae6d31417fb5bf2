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
  /** Disconnects every socket of the user, on every node (a Firebase sign-out revokes them all). */
  disconnectUser(uid: string): void;
  /** Disconnects the user's sockets that signed in with this session, on every node (sign-out). */
  endSession(uid: string, sessionId: string): void;
}

/** `acrossNodes`: other nodes share the adapter (Redis); the in-process adapter has no server-side events. */
export function createNotifier(nsp: ChatNamespace, acrossNodes: boolean): Notifier {
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
    disconnectUser(uid) {
      nsp.in(userChannel(uid)).disconnectSockets(true);
    },
    endSession(uid, sessionId) {
      endLocalSession(nsp, uid, sessionId);
      if (acrossNodes) nsp.serverSideEmit('end_session', uid, sessionId);
    },
  };
}

/**
 * A session's sockets are found by looking, not by a Socket.IO room of their own: with the
 * sharded adapter every room but a socket's own is a channel subscription (SSUBSCRIBE on
 * connect, SUNSUBSCRIBE on disconnect) and its share of the node's memory, for each socket, for
 * an event as rare as a sign-out. The other nodes hear `end_session` and look among the user's
 * sockets they hold.
 */
export function endLocalSession(nsp: ChatNamespace, uid: string, sessionId: string): void {
  for (const id of [...(nsp.adapter.rooms.get(userChannel(uid)) ?? [])]) {
    const socket = nsp.sockets.get(id);
    if (socket?.data.sid === sessionId) socket.disconnect(true);
  }
}
