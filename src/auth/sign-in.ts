/**
 * Session steps shared by the form sign-ins (AUTH=dev and AUTH=password): a new session id at
 * every sign-in (a session id planted before it is worthless after it), and the sockets of a
 * session that a new sign-in replaces closed on every node — a socket must not outlive the
 * session it was opened with.
 */
import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import type { UserProfile } from '../shared/types.js';
import type { ChatStore } from '../store/types.js';
import { SESSION_COOKIE } from './session.js';

export interface SignInHooks {
  /** The session `sessionId` of `uid` ended (replaced by a new sign-in): close its sockets everywhere. */
  sessionEnded(uid: string, sessionId: string): void;
}

const regenerate = (req: Request): Promise<void> =>
  new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));

const save = (req: Request): Promise<void> =>
  new Promise((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));

/** Signs `uid` in on a fresh session and answers 303 to /chat. */
export async function startSession(req: Request, res: Response, uid: string, hooks: SignInHooks): Promise<void> {
  const replaced = typeof req.session.uid === 'string' ? { uid: req.session.uid, sid: req.sessionID } : null;
  await regenerate(req);
  req.session.uid = uid;
  await save(req);
  if (replaced) hooks.sessionEnded(replaced.uid, replaced.sid);
  res.redirect(303, '/chat');
}

/**
 * The sign-in page says "You have signed out" once after a sign-out: a note cookie for /login
 * only, living a minute, read and cleared by the next GET /login (the redirect stays `/login`).
 */
const SIGNED_OUT_COOKIE = 'signed_out';
const SIGNED_OUT_NOTE = { path: '/login', httpOnly: true, sameSite: 'lax', maxAge: 60_000 } as const;

export function noteSignedOut(res: Response): void {
  res.cookie(SIGNED_OUT_COOKIE, '1', SIGNED_OUT_NOTE);
}

/** On GET /login: `signedOut` for the page (res.locals reach the template), the note spent. */
export const readSignedOutNote: RequestHandler = (req, res, next) => {
  if (req.method === 'GET' && /(?:^|;\s*)signed_out=1(?:;|$)/.test(req.headers.cookie ?? '')) {
    res.locals.signedOut = true;
    res.clearCookie(SIGNED_OUT_COOKIE, { path: SIGNED_OUT_NOTE.path });
  }
  next();
};

/** Ends the session and answers 303 to /login. */
export async function endSession(req: Request, res: Response): Promise<void> {
  await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
  res.clearCookie(SESSION_COOKIE, { path: '/' });
  noteSignedOut(res);
  res.redirect(303, '/login');
}

/** The submitted form's text fields, for showing the form again: never an object or array. */
export function formValues(body: unknown, fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const f of fields) {
    const v = (body as Record<string, unknown>)[f];
    if (typeof v === 'string') out[f] = v.slice(0, 200);
  }
  return out;
}

/**
 * The signed-in user of a form sign-in's session, or null: express-session's on a page request,
 * a HandshakeSession (src/auth/session.ts) at a socket handshake.
 */
export function sessionUser(store: ChatStore): (req: IncomingMessage) => Promise<UserProfile | null> {
  return async (req) => {
    const uid = (req as Request).session?.uid;
    return typeof uid === 'string' ? store.getUser(uid) : null;
  };
}
