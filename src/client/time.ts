/** Message times in the reader's locale and time zone, from the server's ISO instants. */
const short = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const withDate = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

export function localizeTimes(root: ParentNode): void {
  const now = new Date();
  for (const el of root.querySelectorAll<HTMLTimeElement>('time[datetime]:not([data-local])')) {
    const d = new Date(el.dateTime);
    if (Number.isNaN(d.getTime())) continue;
    el.textContent = sameDay(d, now) ? short.format(d) : withDate.format(d);
    el.title = full.format(d);
    el.dataset.local = '1';
  }
}
