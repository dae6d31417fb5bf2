/**
 * How a room is shown. Random rooms are stored and addressed as `Random_<n>` (their id and their
 * stored name, as the original had them); people see "Random chat <n>". Direct conversations are
 * `Direct_<hash>`, named after the other person on each side. One module for both renderers: the
 * server's Nunjucks environment and the browser's precompiled one register the same filters
 * (FILTERS), so the macros label a room the same wherever they run.
 */
import { DIRECT_PREFIX } from './limits.js';

export const RANDOM_ROOM = /^Random_(\d+)$/;

export type RoomKind = 'random' | 'direct' | 'group';

export function roomKind(roomId: string): RoomKind {
  if (RANDOM_ROOM.test(roomId)) return 'random';
  return roomId.startsWith(DIRECT_PREFIX) ? 'direct' : 'group';
}

export const isDirectRoom = (roomId: string): boolean => roomKind(roomId) === 'direct';

/** The label of room `roomId` whose stored name is `roomName`: "Random chat 3" for `Random_3`. */
export function roomLabel(roomName: string, roomId: string): string {
  const random = RANDOM_ROOM.exec(roomId);
  return random ? `Random chat ${random[1]}` : roomName;
}

/** The macros' filters, registered on both environments: `room.room_name | room_label(room.room_id)`. */
export const FILTERS = { room_label: roomLabel, room_kind: roomKind } as const;
