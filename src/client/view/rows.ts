/**
 * What a room's list shows between and around its items, as plain data (no DOM, tested in Node):
 * a day separator before the first item of each day ("Today", "Yesterday", then a date in the
 * reader's locale), and which messages continue their sender's group (same sender, same day,
 * within GROUP_GAP_MS of the one before), so only the first of a group shows name and avatar.
 */
import type { Item } from '../state/messages.js';

export const GROUP_GAP_MS = 5 * 60_000;

export type Row = (Item & { cont: boolean }) | { kind: 'day'; key: string; label: string; date: string };

/** The local calendar day of `d`, as `YYYY-MM-DD`. */
export function dayKey(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** "Today", "Yesterday", else the date in the reader's locale (with the year when not this year's). */
export function dayLabel(d: Date, now: Date, locale?: string): string {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const yesterday = new Date(today);
  yesterday.setDate(today.getDate() - 1);
  if (dayKey(d) === dayKey(today)) return 'Today';
  if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
  const opts: Intl.DateTimeFormatOptions = { weekday: 'long', day: 'numeric', month: 'long' };
  if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  return new Intl.DateTimeFormat(locale, opts).format(d);
}

/** The time of day as the reader's locale writes it, without a leading zero ("7:18 PM", "7:18"). */
export function timeLabel(d: Date, locale?: string): string {
  return new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit' }).format(d);
}

/** Date and time in full, for the tooltip. */
export function fullTime(d: Date, locale?: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'short' }).format(d);
}

const timeOf = (item: Item): string =>
  item.kind === 'message' ? item.message.time : item.kind === 'notice' ? item.notice.time : item.pending.time;

/** The sender of a user message (own pending ones are `me`'s); undefined for notices. */
function senderOf(item: Item, me: string): string | undefined {
  if (item.kind === 'pending') return me;
  if (item.kind === 'message' && item.message.type === 'user') return item.message.uid;
  return undefined;
}

/** The items with day separators between days and each message's `cont` (continues a group). */
export function toRows(items: readonly Item[], me: string, now: Date, locale?: string): Row[] {
  const rows: Row[] = [];
  let day = '';
  let prev: { sender: string | undefined; at: number } | null = null;
  for (const item of items) {
    const d = new Date(timeOf(item));
    const valid = !Number.isNaN(d.getTime());
    const key = valid ? dayKey(d) : day;
    if (valid && key !== day) {
      day = key;
      rows.push({ kind: 'day', key: `d:${key}`, label: dayLabel(d, now, locale), date: key });
      prev = null;
    }
    const sender = senderOf(item, me);
    const at: number = valid ? d.getTime() : (prev?.at ?? 0);
    const cont =
      sender !== undefined && prev !== null && prev.sender === sender && Math.abs(at - prev.at) <= GROUP_GAP_MS;
    rows.push({ ...item, cont });
    prev = { sender, at };
  }
  return rows;
}
