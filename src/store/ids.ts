/**
 * Message ids are Redis stream ids, `<ms>-<seq>`, both parts unsigned 64-bit. The memory store
 * makes them the same way, and both stores compare and clamp them here, so a client-sent id that
 * is well-formed but out of range pages the same way in both.
 */
const MAX = (1n << 64n) - 1n;

export interface ParsedId {
  ms: bigint;
  seq: bigint;
}

export function parseId(id: string): ParsedId {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  if (!m) throw new TypeError(`invalid message id "${id}"`);
  const ms = BigInt(m[1] as string);
  const seq = BigInt(m[2] as string);
  // Beyond the largest id: every stored id is smaller, which the largest id expresses too.
  if (ms > MAX || seq > MAX) return ms > MAX ? { ms: MAX, seq: MAX } : { ms, seq: MAX };
  return { ms, seq };
}

export function compareIds(a: ParsedId, b: ParsedId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

export function formatId(id: ParsedId): string {
  return `${id.ms}-${id.seq}`;
}

export function isMinId(id: ParsedId): boolean {
  return id.ms === 0n && id.seq === 0n;
}

export function isMaxId(id: ParsedId): boolean {
  return id.ms === MAX && id.seq === MAX;
}

/** Rooms are listed in this order by both stores: by room id, in code-unit order. */
export function byRoomId<T extends { room_id: string }>(a: T, b: T): number {
  return a.room_id < b.room_id ? -1 : a.room_id > b.room_id ? 1 : 0;
}
