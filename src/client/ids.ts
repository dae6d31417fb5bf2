/**
 * Message ids are `<ms>-<seq>` (Redis stream ids), compared as numbers: string order would put
 * "10-0" before "9-0". Both parts stay far below 2^53 for real ids, so plain numbers do.
 */
function parts(id: string): [number, number] {
  const dash = id.indexOf('-');
  if (dash < 0) return [Number(id) || 0, 0];
  return [Number(id.slice(0, dash)) || 0, Number(id.slice(dash + 1)) || 0];
}

/** Negative, zero or positive as `a` orders before, with or after `b`. */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  const [am, as] = parts(a);
  const [bm, bs] = parts(b);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

/** The larger of two ids (either may be absent). */
export function maxId(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareIds(a, b) >= 0 ? a : b;
}

/** The id before which nothing is stored: catch-up of a room known to be empty starts here. */
export const MIN_ID = '0-0';
