/**
 * Keeps a list element in step with a list of keyed items: elements are made only for new items
 * or items whose data changed (by reference), moved only when out of place, removed when their
 * item is gone. The element of each key is remembered here, so nothing is read back from the DOM.
 */
export interface Keyed {
  key: string;
  /** The item's data: a new object means the element is rendered again. */
  data: unknown;
  /** Anything else the element shows (e.g. a note that depends on the connection). */
  version?: string;
}

export type Rendered = Map<string, { data: unknown; version: string | undefined; el: HTMLElement }>;

/**
 * Brings `list` to `items`; `known` is what was rendered last time (null: the list holds markup
 * this code did not render, e.g. the server's, so it is rendered afresh). Returns what is rendered
 * now and whether anything was added.
 */
export function patchList(
  list: HTMLElement,
  items: readonly Keyed[],
  known: Rendered | null,
  render: (item: Keyed) => HTMLElement,
): { rendered: Rendered; added: string[] } {
  const rendered: Rendered = new Map();
  const added: string[] = [];
  if (!known) list.replaceChildren();
  const old = known ?? new Map();
  const wanted = new Set(items.map((i) => i.key));
  for (const [key, { el }] of old) if (!wanted.has(key)) el.remove();
  let prev: HTMLElement | null = null;
  for (const item of items) {
    const had = old.get(item.key);
    let el = had?.el;
    if (!had || had.data !== item.data || had.version !== item.version) {
      const fresh = render(item);
      if (had) had.el.replaceWith(fresh);
      else added.push(item.key);
      el = fresh;
    }
    const place: Element | null = prev ? prev.nextElementSibling : list.firstElementChild;
    if (place !== el) {
      if (prev) prev.after(el!);
      else list.prepend(el!);
    }
    rendered.set(item.key, { data: item.data, version: item.version, el: el! });
    prev = el!;
  }
  return { rendered, added };
}
