/**
 * Ordering of a room's list items. Message ids are `<ms>-<seq>`, compared as numbers (string
 * order would put "10-0" before "9-0"). A live notice has no id: it sorts just after the id it
 * followed when it arrived; a message still being sent has none either and stays at the bottom.
 */
export type SortKey = readonly [number, number, number];

function parseId(id: string): [number, number] {
  const [ms, seq] = id.split('-');
  return [Number(ms ?? 0) || 0, Number(seq ?? 0) || 0];
}

export function compareKeys(a: SortKey, b: SortKey): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function messageKey(id: string): SortKey {
  return [...parseId(id), 0];
}

/** The element's key, or null for a message not yet acknowledged (always last). */
export function keyOf(el: Element): SortKey | null {
  const h = el as HTMLElement;
  const id = h.dataset.msgId;
  if (id) return messageKey(id);
  if (h.dataset.after !== undefined) {
    return h.dataset.after ? [...parseId(h.dataset.after), 1] : [-1, 0, 1];
  }
  return null;
}

/** Inserts `el` into `list` in key order; items without a key keep the bottom. */
export function insertOrdered(list: HTMLElement, el: HTMLElement, key: SortKey): void {
  for (let child = list.lastElementChild; child; child = child.previousElementSibling) {
    const k = keyOf(child);
    if (k && compareKeys(k, key) < 0) {
      child.after(el);
      return;
    }
  }
  list.prepend(el);
}
