/**
 * AUTH=password: accounts with a name and a password, kept by the app. Passwords are hashed
 * with argon2id (@node-rs/argon2) at OWASP's recommended cost (19 MiB, 2 passes, 1 lane); the
 * hash stays in the store and is only ever compared there (argon2's verify is constant-time). A
 * wrong name and a wrong password get the same answer in the same time (an unknown name is
 * verified against a dummy hash). Five failures for one name within 15 minutes lock the name
 * until the window passes (429), counted across nodes.
 */
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import express, { type Request, type Response } from 'express';
import type { Logger } from '../logger.js';
import { checkName, nameKey } from '../shared/names.js';
import { passwordLoginBody, signupBody } from '../shared/schemas.js';
import type { Limiter } from '../store/limiter.js';
import type { ChatStore } from '../store/types.js';
import { endSession, formValues, sessionUser, startSession, type SignInHooks } from './sign-in.js';
import type { AuthProvider } from './types.js';

/**
 * OWASP's argon2id parameters (Password Storage Cheat Sheet): m=19 MiB, t=2, p=1. Argon2id is
 * the library's default algorithm (its const enum cannot be imported here); the tests check the
 * stored hash says `$argon2id$`.
 */
const ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

const WRONG = 'Wrong name or password.';
const LOCKED = 'Too many failed attempts for this name: try again in 15 minutes.';

export interface PasswordAuthDeps {
  store: ChatStore;
  logger: Logger;
  hooks: SignInHooks;
  /** Failed sign-ins per name key (5 per 15 minutes by default). */
  failures: Limiter;
}

export async function createPasswordAuth({ store, logger, hooks, failures }: PasswordAuthDeps): Promise<AuthProvider> {
  const router = express.Router();
  // Verified against when the name is unknown, so that answer takes as long as a wrong password.
  const dummyHash = await hash(randomBytes(16).toString('hex'), ARGON2);

  const page = (res: Response, view: 'login' | 'signup', status: number, error?: string, values = {}): void => {
    res.status(status).render(view === 'login' ? 'login.njk' : 'signup.njk', { mode: 'password', error, values });
  };

  router.get('/login', (_req, res) => page(res, 'login', 200));
  router.get('/signup', (_req, res) => page(res, 'signup', 200));

  router.post('/login', async (req, res) => {
    const values = formValues(req.body, ['name']);
    const parsed = passwordLoginBody.safeParse(req.body ?? {});
    if (!parsed.success) return page(res, 'login', 400, parsed.error.issues[0]?.message, values);
    const name = checkName(parsed.data.name);
    const key = name.ok ? nameKey(name.name) : '';
    if (name.ok && (await failures.exhausted(key))) return page(res, 'login', 429, LOCKED, values);
    const account = name.ok ? await store.findAccount(key) : null;
    const right = await verify(account?.passwordHash ?? dummyHash, parsed.data.password).catch(() => false);
    if (!account || !right) {
      if (name.ok) await failures.consume(key);
      logger.info({ known: account !== null }, 'password sign-in refused');
      return page(res, 'login', 401, WRONG, values);
    }
    logger.info({ uid: account.uid }, 'signed in');
    await startSession(req, res, account.uid, hooks);
  });

  router.post('/signup', async (req, res) => {
    const values = formValues(req.body, ['name', 'course']);
    const parsed = signupBody.safeParse(req.body ?? {});
    if (!parsed.success) return page(res, 'signup', 400, parsed.error.issues[0]?.message, values);
    const name = checkName(parsed.data.name);
    if (!name.ok) return page(res, 'signup', 400, name.reason, values);
    const uid = `p${randomBytes(12).toString('hex')}`;
    const passwordHash = await hash(parsed.data.password, ARGON2);
    const profile = { uid, name: name.name, course: parsed.data.course, role: 'student' as const, picture: '' };
    if (!(await store.createAccount(profile, nameKey(name.name), passwordHash))) {
      return page(res, 'signup', 400, 'That name is taken: choose another.', values);
    }
    logger.info({ uid }, 'signed up');
    await startSession(req, res, uid, hooks);
  });

  const logout = (req: Request, res: Response): Promise<void> => endSession(req, res);
  router.post('/logout', logout);
  router.post('/sessionLogout', logout);

  return { router, authenticate: sessionUser(store) };
}
