/** Resolves the signed-in user once per request into res.locals.user. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthProvider } from '../auth/types.js';
import type { UserProfile } from '../shared/types.js';

export function loadUser(auth: AuthProvider): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    res.locals.user = await auth.authenticate(req);
    next();
  };
}

export function currentUser(res: Response): UserProfile | null {
  return (res.locals.user as UserProfile | null | undefined) ?? null;
}

/** Pages redirect to /login; JSON routes answer 401. */
export function requireUser(kind: 'page' | 'json'): RequestHandler {
  return (_req, res, next) => {
    if (currentUser(res)) return next();
    if (kind === 'page') res.redirect(302, '/login');
    else res.status(401).json({ status: 'ERROR', error: 'unauthorized' });
  };
}
