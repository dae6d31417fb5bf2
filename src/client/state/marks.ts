/**
 * Resume marks: where each room's catch-up starts. They stop moving with live messages when live
 * deliveries may have been missed (the connection dropped, or the server said `resync`), and move
 * again once the room is caught up.
 */
import { maxId } from '../ids.js';
import { LIVE_RUN_MS } from './messages.js';
import { withRoom } from './rooms.js';
import type { ChatState, RoomState } from './types.js';

/**
 * Live deliveries may have been missed: the marks stop moving with live messages until each room
 * is caught up. A mark that moved with live messages in the run still going at `now` goes back
 * to before that run: after a `resync`, messages delivered just before it (the node's subscriber
 * was back a moment before it said so) may follow messages it never delivered.
 */
export function freezeMarks(state: ChatState, now: number): ChatState {
  const rooms: Record<string, RoomState> = {};
  for (const [id, r] of Object.entries(state.rooms)) {
    if (!r.live && r.liveMax === undefined) {
      rooms[id] = r;
      continue;
    }
    const recent = r.live && r.run && now - r.run.last <= LIVE_RUN_MS;
    rooms[id] = { ...r, live: false, liveMax: undefined, run: undefined, resume: recent ? r.run!.before : r.resume };
  }
  return { ...state, rooms };
}

/**
 * The room's catch-up reached its newest message: what came live since the (re)join continues
 * it, so the mark takes the newest of both and moves with live messages again.
 */
export function caughtUp(state: ChatState, roomId: string): ChatState {
  const room = state.rooms[roomId];
  if (!room || room.live) return state;
  return withRoom(state, { ...room, live: true, resume: maxId(room.resume, room.liveMax)!, liveMax: undefined });
}

export function setConnected(state: ChatState, connected: boolean, now: number): ChatState {
  if (state.connected === connected) return state;
  const next = { ...state, connected };
  return connected ? next : freezeMarks(next, now);
}
