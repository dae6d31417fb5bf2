/** `text`, `history`, `typing`: what is said in a room. */
import { userChannel } from '../shared/events.js';
import { roomChannel } from '../store/fanout.js';
import type { Ack } from '../shared/events.js';
import { ERRORS, LIMITS } from '../shared/limits.js';
import { historyPayload, parseMessageText, roomPayload, textPayload } from '../shared/schemas.js';
import type { Message } from '../shared/types.js';
import type { ChatStore, PostOptions } from '../store/types.js';
import { Refusal } from './handler.js';
import type { EventBudget } from './event-budget.js';
import type { Throttle } from './throttle.js';
import type { ChatNamespace, ChatSocket } from './types.js';
import { parsePayload, requireMember } from './validate.js';

type OverBudget = (uid: string, event: string, payload: unknown) => Promise<Ack<{ id: string; time: string }>>;

export interface MessageHandlerDeps {
  store: ChatStore;
  nsp: ChatNamespace;
  /** Typing notices: once per LIMITS.typingIntervalMs per user and room, across sockets and nodes. */
  throttle: Throttle;
  typingKey: (roomId: string, uid: string) => string;
  /**
   * Set when `text`'s event-budget token is taken here rather than before the handler
   * (socket-server.ts): by the store's posting script, or by `budget.take` for a `text` refused
   * before it. Either way the budget comes first, as for every event (CONTRACT).
   */
  textBudget?: { budget: EventBudget; overBudget: OverBudget; post: PostOptions } | null;
}

export function createMessageHandlers({ store, nsp, throttle, typingKey, textBudget = null }: MessageHandlerDeps) {
  /** A `text` refused before the store: its budget token first (over budget answers that instead). */
  const refuseText = async (uid: string, payload: unknown, refusal: () => Promise<never>) => {
    if (textBudget && !(await textBudget.budget.take(uid))) return textBudget.overBudget(uid, 'text', payload);
    return refusal();
  };
  return {
    async text(socket: ChatSocket, payload: unknown): Promise<Ack<{ id: string; time: string }>> {
      const user = socket.data;
      let parsed: ReturnType<typeof parsePayload<typeof textPayload>>;
      try {
        parsed = parsePayload(textPayload, payload);
      } catch (err) {
        return refuseText(user.uid, payload, () => Promise.reject(err as Error));
      }
      const { room_id, msg, client_id } = parsed;
      const text = parseMessageText(msg);
      if (text === null) {
        return refuseText(user.uid, payload, async () => {
          // The contract answers `not a member` before `invalid message`.
          await requireMember(store, user.uid, room_id);
          throw new Refusal(ERRORS.invalidMessage);
        });
      }
      const result = await store.postMessage(
        {
          room_id,
          uid: user.uid,
          name: user.name,
          picture: user.picture,
          msg: text,
          ...(client_id === undefined ? {} : { client_id }),
        },
        textBudget?.post,
      );
      if (!result.ok && result.overBudget && textBudget) return textBudget.overBudget(user.uid, 'text', payload);
      if (!result.ok) throw new Refusal(result.error);
      // Delivered by the store (fanout.ts); a resend of a stored client id was delivered then.
      return { ok: true, id: result.id, time: result.time };
    },

    async history(socket: ChatSocket, payload: unknown): Promise<Ack<{ messages: Message[] }>> {
      const q = parsePayload(historyPayload, payload);
      if (q.before !== undefined && q.after !== undefined) throw new Refusal(ERRORS.invalidPayload);
      const limit = Math.min(q.limit ?? LIMITS.historyDefault, LIMITS.historyMax);
      // Both reads at once (one Redis write with auto-pipelining, one round trip): the messages
      // are only answered when the membership check passes.
      const [, messages] = await Promise.all([
        requireMember(store, socket.data.uid, q.room_id),
        store.history(q.room_id, { before: q.before, after: q.after, limit }),
      ]);
      return { ok: true, messages };
    },

    async typing(socket: ChatSocket, payload: unknown): Promise<Ack> {
      const { room_id } = parsePayload(roomPayload, payload);
      const user = socket.data;
      // A socket in the Socket.IO room is a member (it leaves the room when the user exits);
      // only otherwise ask the store.
      if (!socket.rooms.has(roomChannel(room_id))) await requireMember(store, user.uid, room_id);
      if (await throttle.first(typingKey(room_id, user.uid), LIMITS.typingIntervalMs)) {
        nsp
          .to(roomChannel(room_id))
          .except(userChannel(user.uid))
          .emit('typing', { room_id, uid: user.uid, name: user.name });
      }
      return { ok: true };
    },
  };
}
