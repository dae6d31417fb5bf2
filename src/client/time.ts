/** Message times in the reader's locale and time zone, from the server's ISO instants. */
import { fullTime, timeLabel } from './view/rows.js';

/**
 * The time of day without a leading zero (the day is on the separator above), the full date and
 * time in the title (hover; chat.css shows it on keyboard focus too).
 */
export function localizeTimes(root: ParentNode): void {
  for (const el of root.querySelectorAll<HTMLTimeElement>('time[datetime]:not([data-local])')) {
    const d = new Date(el.dateTime);
    if (Number.isNaN(d.getTime())) continue;
    el.textContent = timeLabel(d);
    el.title = fullTime(d);
    el.dataset.local = '1';
  }
}
