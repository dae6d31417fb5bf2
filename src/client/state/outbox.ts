/**
 * The outbox: own messages from the moment they are typed until the server has stored them (they
 * become messages) or finally refused them (they wait for Retry or Discard). Each has the
 * client_id it is sent with every time, so the server stores it once however often it is resent;
 * and it is matched to what comes back by that id, never by its text.
 */
import type { Message } from '../../shared/types.js';
import { receive } from './rooms.js';
import type { ChatState, Pending } from './types.js';

/** A message typed in a room: shown at once, sent when its turn comes. */
export function queue(
  state: ChatState,
  p: { client_id: string; room_id: string; msg: string; time: string },
): ChatState {
  if (!state.rooms[p.room_id] || state.outbox.some((q) => q.client_id === p.client_id)) return state;
  return { ...state, outbox: [...state.outbox, { ...p, state: 'sending' }] };
}

/** The next message to send: the oldest one still sending (one at a time keeps the order). */
export function nextToSend(state: ChatState): Pending | undefined {
  return state.outbox.find((p) => p.state === 'sending');
}

/** Acknowledged: the server stored it as `id` at `time` (the live copy may have come first). */
export function settle(state: ChatState, clientId: string, id: string, time: string): ChatState {
  const p = state.outbox.find((q) => q.client_id === clientId);
  if (!p) return state;
  const { uid, name, picture } = state.me;
  const message: Message = {
    id,
    room_id: p.room_id,
    uid,
    name,
    picture,
    msg: p.msg,
    time,
    type: 'user',
    client_id: clientId,
  };
  // `receive` drops it from the outbox (matched by client_id) and stores it once.
  return receive(state, p.room_id, [message], 'ack');
}

function update(state: ChatState, clientId: string, change: (p: Pending) => Pending): ChatState {
  let changed = false;
  const outbox = state.outbox.map((p) => {
    if (p.client_id !== clientId) return p;
    const next = change(p);
    changed ||= next !== p;
    return next;
  });
  return changed ? { ...state, outbox } : state;
}

/** Finally refused: nothing was stored; the reader may retry (same client_id) or discard it. */
export function fail(state: ChatState, clientId: string, reason: string): ChatState {
  return update(state, clientId, (p) =>
    p.state === 'failed' && p.reason === reason ? p : { ...p, state: 'failed', reason },
  );
}

/** Back in line: sent again with the same client_id, after the ones already waiting. */
export function retry(state: ChatState, clientId: string): ChatState {
  const p = state.outbox.find((q) => q.client_id === clientId);
  if (!p || p.state !== 'failed') return state;
  const rest = state.outbox.filter((q) => q !== p);
  return {
    ...state,
    outbox: [...rest, { client_id: p.client_id, room_id: p.room_id, msg: p.msg, time: p.time, state: 'sending' }],
  };
}

/** Given up: it leaves the page (only a finally refused message can be discarded: nothing was stored). */
export function discard(state: ChatState, clientId: string): ChatState {
  const outbox = state.outbox.filter((p) => !(p.client_id === clientId && p.state === 'failed'));
  return outbox.length === state.outbox.length ? state : { ...state, outbox };
}

/** After `joined`: messages for rooms the user is no longer in cannot be sent. */
export function keepRooms(state: ChatState, roomIds: ReadonlySet<string>): ChatState {
  const outbox = state.outbox.filter((p) => roomIds.has(p.room_id));
  return outbox.length === state.outbox.length ? state : { ...state, outbox };
}
