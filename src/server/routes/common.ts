// Small helpers shared by the route files.
import type { Request } from 'express';
import type { z } from 'zod';
import type { AppContext } from '../context.ts';
import { HttpError, invalidRequest } from '../errors.ts';
import type { Player } from '../../roster/roster.ts';

/** Who the audit trail names for changes made through the API. */
export const API_ACTOR = 'api';

/** The audit trail's actor for this request: the dashboard session's (set by apiAuth) or the API's. */
export function actorOf(req: Request): string {
  return (req.res?.locals.actor as string | undefined) ?? API_ACTOR;
}

/** The validated JSON body; a 400 naming every bad field otherwise. */
export function parseBody<S extends z.ZodType>(schema: S, req: Request, what: string): z.output<S> {
  const r = schema.safeParse(req.body ?? {});
  if (!r.success) throw invalidRequest(what, r.error);
  return r.data;
}

/** For routes whose body must be JSON: a form post would otherwise read as "no fields". */
export function requireJson(req: Request): void {
  if (!req.is('application/json')) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as JSON with Content-Type: application/json');
  }
}

export function mustGetPlayer(ctx: AppContext, id: string): Player {
  const p = ctx.roster.getPlayer(id);
  if (!p) throw new HttpError(404, 'NOT_FOUND', `no player '${id}'; create it first with POST /api/players`);
  return p;
}
