/** `read` and `members`: what a member knows of a room besides its messages. */
import type { Ack } from '../shared/events.js';
import { userChannel } from '../shared/events.js';
import { ERRORS } from '../shared/limits.js';
import { readPayload, roomPayload } from '../shared/schemas.js';
import type { Member } from '../shared/types.js';
import type { ChatStore } from '../store/types.js';
import { Refusal } from './handler.js';
import type { SocketLimiter } from './socket-limit.js';
import type { ChatNamespace, ChatSocket } from './types.js';
import { parsePayload } from './validate.js';

export interface MemberHandlerDeps {
  store: ChatStore;
  nsp: ChatNamespace;
  presence: Pick<SocketLimiter, 'online'>;
}

export function createMemberHandlers({ store, nsp, presence }: MemberHandlerDeps) {
  return {
    async read(socket: ChatSocket, payload: unknown): Promise<Ack<{ last_read: string | null }>> {
      const { room_id, id } = parsePayload(readPayload, payload);
      const { uid } = socket.data;
      // One atomic step: membership, forward only, never past the room's newest message.
      const mark = await store.markRead(uid, room_id, id);
      if (!mark) throw new Refusal(ERRORS.notMember);
      // Every tab and device of the user follows (badges, title), on every node; only when the
      // mark moved (a page reading on at the bottom sends `read` often; most change nothing).
      if (mark.moved && mark.last_read !== null)
        nsp.to(userChannel(uid)).emit('read', { room_id, last_read: mark.last_read });
      return { ok: true, last_read: mark.last_read };
    },

    async members(socket: ChatSocket, payload: unknown): Promise<Ack<{ members: Member[] }>> {
      const { room_id } = parsePayload(roomPayload, payload);
      const uids = await store.roomMembers(room_id);
      if (!uids.includes(socket.data.uid)) throw new Refusal(ERRORS.notMember);
      const [profiles, online] = await Promise.all([store.getUsers(uids), presence.online(uids)]);
      const members = profiles
        .filter((p) => p !== null)
        .map((p) => ({ uid: p.uid, name: p.name, picture: p.picture, online: online.has(p.uid) }));
      return { ok: true, members };
    },
  };
}
