/**
 * Profiles of Firebase users: made once, at the first sign-in, from the token's claims; after
 * that the stored profile wins, so a course or role set later is not overwritten by the token.
 */
import type { DecodedIdToken } from 'firebase-admin/auth';
import { LIMITS } from '../shared/limits.js';
import { checkName } from '../shared/names.js';
import type { UserProfile } from '../shared/types.js';
import type { ChatStore } from '../store/types.js';

/** Claims the profile is made from (a subset of an ID token or session cookie). */
export type ProfileClaims = Pick<DecodedIdToken, 'uid'> & { name?: unknown; email?: unknown; picture?: unknown };

function displayName(claims: ProfileClaims): string {
  const fromName = typeof claims.name === 'string' ? claims.name.trim() : '';
  const fromEmail = typeof claims.email === 'string' ? (claims.email.split('@')[0] ?? '').trim() : '';
  const name = (fromName || fromEmail || 'user').normalize('NFKC');
  // Cut by code point, not UTF-16 unit, so a name never ends in half a surrogate pair.
  return Array.from(name).slice(0, LIMITS.nameMaxChars).join('');
}

/** Only an absolute https URL is kept: the picture ends up in an <img src>. */
function pictureUrl(picture: unknown): string {
  if (typeof picture !== 'string' || picture.length > 2048) return '';
  try {
    return new URL(picture).protocol === 'https:' ? picture : '';
  } catch {
    return '';
  }
}

export function profileFromClaims(claims: ProfileClaims): UserProfile {
  return {
    uid: claims.uid,
    name: displayName(claims),
    course: '',
    role: 'student',
    picture: pictureUrl(claims.picture),
  };
}

/**
 * The stored profile, or a new one made from the claims and saved — unless the display name
 * breaks the name rules (src/shared/names.ts): a Firebase name is refused, not cleaned, as at
 * every other sign-in, so nobody gets a look-alike or invisible name through their provider.
 */
export async function ensureProfile(
  store: ChatStore,
  claims: ProfileClaims,
): Promise<{ ok: true; profile: UserProfile } | { ok: false; reason: string }> {
  const stored = await store.getUser(claims.uid);
  if (stored) return { ok: true, profile: stored };
  const profile = profileFromClaims(claims);
  const name = checkName(profile.name);
  if (!name.ok) return name;
  // Two first requests at once both save the same profile: harmless.
  await store.saveUser({ ...profile, name: name.name });
  return { ok: true, profile: { ...profile, name: name.name } };
}
