/**
 * `catch_up` (the project's own event, beside the contract's `history`): after a reconnect or a
 * `resync`, a page catches up up to LIMITS.catchUpMaxRooms rooms in one event, so a user in
 * 1,000 rooms sends 10 events instead of 1,000 `history` (which the per-socket queue, and any
 * per-user event budget, would refuse). Rooms the user has left are left out of the answer.
 */
import type { Ack } from '../shared/events.js';
import { LIMITS } from '../shared/limits.js';
import { catchUpPayload } from '../shared/schemas.js';
import type { CatchUpResult } from '../shared/types.js';
import type { ChatStore } from '../store/types.js';
import type { ChatSocket } from './types.js';
import { parsePayload } from './validate.js';

export interface CatchUpHandlerDeps {
  store: ChatStore;
}

export function createCatchUpHandlers({ store }: CatchUpHandlerDeps) {
  return {
    async catch_up(socket: ChatSocket, payload: unknown): Promise<Ack<{ rooms: CatchUpResult[] }>> {
      const { rooms } = parsePayload(catchUpPayload, payload);
      // A room named twice is read once, from the earlier of its marks.
      const marks = new Map<string, string>();
      for (const r of rooms) if (!marks.has(r.room_id)) marks.set(r.room_id, r.after);
      const ids = [...marks.keys()];
      const per = LIMITS.catchUpPerRoom;
      // Membership and every room's read issued together: one round trip with auto-pipelining.
      // One message more than answered tells whether the room has more.
      const [members, ...pages] = await Promise.all([
        store.memberOf(socket.data.uid, ids),
        ...ids.map((id) => store.history(id, { after: marks.get(id), limit: per + 1 })),
      ]);
      const out: CatchUpResult[] = [];
      ids.forEach((room_id, i) => {
        if (!members.has(room_id)) return;
        const messages = pages[i] ?? [];
        out.push({ room_id, messages: messages.slice(0, per), more: messages.length > per });
      });
      return { ok: true, rooms: out };
    },
  };
}
