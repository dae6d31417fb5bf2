/**
 * `resync` (the project's own event): the node may have missed live deliveries for this socket
 * (its Redis subscriber came back). The socket stays connected and in its rooms, so no `joined`:
 * the marks stop moving with live messages and every room is caught up from its mark.
 */
import type { ResyncEvent } from '../../shared/types.js';
import { freezeMarks } from '../state/marks.js';
import type { EventContext } from './context.js';

export function onResync(ctx: EventContext, _event: ResyncEvent): void {
  ctx.store.update((s) => freezeMarks(s, Date.now()));
  ctx.catchUp();
}
