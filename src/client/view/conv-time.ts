/**
 * A conversation's time in the list, in the reader's locale: the time of day for today,
 * "Yesterday", the weekday within the week, else the date; the full date and time in the title.
 */
import { dayKey, fullTime, timeLabel } from './rows.js';

const WEEK_MS = 6 * 24 * 60 * 60_000;

export function convTimeLabel(d: Date, now: Date, locale?: string): string {
  if (dayKey(d) === dayKey(now)) return timeLabel(d, locale);
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
  if (now.getTime() - d.getTime() < WEEK_MS) return new Intl.DateTimeFormat(locale, { weekday: 'short' }).format(d);
  const opts: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'short' };
  if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  return new Intl.DateTimeFormat(locale, opts).format(d);
}

/** Rewrites the `<time>` of a conversation's time element (views/macros/chat.njk conv_time). */
export function localizeConvTime(el: HTMLElement, now = new Date()): HTMLElement {
  const time = el.querySelector('time');
  const d = time ? new Date(time.dateTime) : null;
  if (time && d && !Number.isNaN(d.getTime())) {
    time.textContent = convTimeLabel(d, now);
    time.title = fullTime(d);
  }
  return el;
}
