/**
 * A message's text as parts the macros render: plain text, links and mentions. Links are found by
 * linkify-it (never a hand-written pattern) and kept only for http, https and mailto; a mention is
 * "@" followed by the name of a room member. Nothing else ever becomes markup: every part is
 * text, autoescaped by the macros.
 */
import LinkifyIt from 'linkify-it';

export type Part =
  { t: 'text'; text: string } | { t: 'link'; text: string; href: string } | { t: 'mention'; text: string; me: boolean };

const linkify = new LinkifyIt();
// Only web and mail links: no ftp:, no protocol-relative "//host".
linkify.add('ftp:', null).add('//', null);

const ALLOWED = /^(https?:\/\/|mailto:)/i;
const WORD = /[\p{L}\p{N}_]/u;

const fold = (s: string): string => s.toLocaleLowerCase();

/** Mentions in a stretch of plain text: "@" + a name (longest first), not inside a word. */
function mentionParts(text: string, names: readonly string[], me: string): Part[] {
  const parts: Part[] = [];
  const folded = fold(text);
  let plainFrom = 0;
  let i = text.indexOf('@');
  while (i >= 0) {
    const before = i > 0 ? text[i - 1]! : '';
    const name = before && WORD.test(before) ? undefined : names.find((n) => folded.startsWith(fold(n), i + 1));
    const end = name ? i + 1 + name.length : -1;
    if (name && !(end < text.length && WORD.test(text[end]!))) {
      if (i > plainFrom) parts.push({ t: 'text', text: text.slice(plainFrom, i) });
      parts.push({ t: 'mention', text: text.slice(i, end), me: fold(name) === fold(me) });
      plainFrom = end;
      i = text.indexOf('@', end);
    } else i = text.indexOf('@', i + 1);
  }
  if (plainFrom < text.length) parts.push({ t: 'text', text: text.slice(plainFrom) });
  return parts;
}

/**
 * Splits `text` into parts. `names` are the room's members (the reader's own name among them
 * marks a mention of the reader); `me` is the reader's name.
 */
export function tokenize(text: string, names: readonly string[] = [], me = ''): Part[] {
  const sorted = [...new Set(names.filter((n) => n.trim() !== ''))].sort((a, b) => b.length - a.length);
  const parts: Part[] = [];
  let from = 0;
  for (const m of linkify.match(text) ?? []) {
    if (!ALLOWED.test(m.url)) continue;
    if (m.index > from) parts.push(...mentionParts(text.slice(from, m.index), sorted, me));
    parts.push({ t: 'link', text: m.text, href: m.url });
    from = m.lastIndex;
  }
  if (from < text.length) parts.push(...mentionParts(text.slice(from), sorted, me));
  return parts;
}

/** Whether `text` mentions the reader (as a mention of a member named `me`). */
export function mentionsMe(text: string, me: string): boolean {
  if (!me || !text.includes('@')) return false;
  return tokenize(text, [me], me).some((p) => p.t === 'mention' && p.me);
}
