/** The one room id of two users' direct conversation, the same whichever asks. */
import { createHash } from 'node:crypto';
import { DIRECT_PREFIX } from '../shared/limits.js';

export function directRoomId(a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  // A hash, not the uids themselves: Firebase uids of 128 characters would pass the room id limit.
  return `${DIRECT_PREFIX}${createHash('sha256').update(`${x}\u0000${y}`).digest('hex').slice(0, 32)}`;
}
