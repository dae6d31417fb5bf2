/**
 * Display names (CONTRACT "Names"): one rule for every sign-in mode, so nobody can take a name
 * that looks like somebody else's, or one that shows nothing. NFKC folds compatibility forms
 * (fullwidth `Ｚ` is `Z`); what is left must hold no control, bidirectional-control or invisible
 * character — except a zero-width joiner or variation selector inside an emoji sequence, which
 * is how emoji such as 👨‍👩‍👧 are spelt — must show something, and must not mix scripts the way
 * look-alike attacks do (`Ζeus` with a Greek Zeta: UTS #39's "highly restrictive" level).
 */
import { LIMITS } from './limits.js';

export type NameCheck = { ok: true; name: string } | { ok: false; reason: string };

/** Bidirectional controls: embeddings, overrides, isolates, and the implicit marks. */
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const CONTROL = /\p{Cc}/u;
/** Invisible: default-ignorable code points and other format characters. */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/u;
/** Joiners and selectors allowed between emoji (ZWJ, VS1–16, VS17–256, tag characters). */
const EMOJI_GLUE = /^(?:\u200D|[\uFE00-\uFE0F]|[\u{E0020}-\u{E007F}]|[\u{E0100}-\u{E01EF}])$/u;
const PICTO = /\p{Extended_Pictographic}|\p{Emoji_Modifier}|\p{Regional_Indicator}/u;
/** Characters that render as nothing or as blank space. */
const BLANK = /[\p{White_Space}\p{M}\u2800\u115F\u1160\u3164\uFFA0]/u;

/** Scripts a name may combine (UTS #39 "highly restrictive"); any other mix is refused. */
const SCRIPT_SETS: readonly (readonly string[])[] = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];
const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Devanagari',
  'Bengali',
  'Thai',
  'Georgian',
  'Hangul',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Han',
  'Ethiopic',
  'Tamil',
  'Telugu',
  'Gujarati',
  'Gurmukhi',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Khmer',
  'Lao',
  'Myanmar',
  'Tibetan',
] as const;
const SCRIPT_RE = new Map(SCRIPTS.map((s) => [s, new RegExp(`\\p{Script=${s}}`, 'u')]));

function scriptsOf(chars: string[]): Set<string> {
  const found = new Set<string>();
  for (const c of chars) {
    for (const [name, re] of SCRIPT_RE) {
      if (re.test(c)) {
        found.add(name);
        break;
      }
    }
  }
  return found;
}

function mixesScripts(chars: string[]): boolean {
  const found = [...scriptsOf(chars)];
  if (found.length <= 1) return false;
  return !SCRIPT_SETS.some((set) => found.every((s) => set.includes(s)));
}

/** `raw` as the name to keep, or why it is refused. */
export function checkName(raw: unknown): NameCheck {
  if (typeof raw !== 'string') return { ok: false, reason: 'Enter a name.' };
  const name = raw.normalize('NFKC').trim();
  if (name.length === 0) return { ok: false, reason: 'Enter a name.' };
  if (name.length > LIMITS.nameMaxChars) {
    return { ok: false, reason: `The name is too long (at most ${LIMITS.nameMaxChars} characters).` };
  }
  const chars = Array.from(name);
  if (chars.some((c) => CONTROL.test(c))) return { ok: false, reason: 'The name contains control characters.' };
  if (chars.some((c) => BIDI.test(c))) {
    return { ok: false, reason: 'The name contains text-direction control characters.' };
  }
  // The last visible character before a run of glue: glue is allowed only after an emoji, and
  // a joiner only between two.
  let base = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (!INVISIBLE.test(c)) {
      base = c;
      continue;
    }
    const glued = EMOJI_GLUE.test(c) && PICTO.test(base) && (c !== '\u200D' || PICTO.test(chars[i + 1] ?? ''));
    if (!glued) return { ok: false, reason: 'The name contains invisible characters.' };
  }
  if (chars.every((c) => BLANK.test(c) || INVISIBLE.test(c))) {
    return { ok: false, reason: 'The name shows nothing: use letters, digits or symbols.' };
  }
  if (mixesScripts(chars)) {
    return { ok: false, reason: 'The name mixes alphabets (for example Latin and Greek letters).' };
  }
  return { ok: true, name };
}

/** The key two names are compared by: after checkName's normalisation, case-folded. */
export function nameKey(name: string): string {
  return name.normalize('NFKC').toLowerCase().normalize('NFKC');
}
