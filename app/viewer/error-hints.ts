// Client side (pure): what to tell the user for each error code the server can send.
import type { ErrorCode } from '../../server/protocol';

const HINTS: Record<ErrorCode, string> = {
  bad_request: 'The server refused a request from this viewer. Reload the page; if it keeps happening, the viewer and server versions differ.',
  protocol_mismatch: 'This viewer and the server speak different protocol versions. Reload the page (Ctrl+Shift+R) to get the matching viewer.',
  not_found: 'This scene is not on the server. Check the link, or go back to the scene list.',
  not_joined: 'The connection lost its scene. The viewer rejoins by itself; reload the page if frames do not resume.',
  forbidden: 'Your link does not give access to this. Ask the scene owner for a new share link.',
  too_large: 'The view is larger than the server renders. Make the window smaller.',
  rate_limited: 'Too many requests. Wait a moment, then try again.',
  unavailable: 'This server or scene does not offer that feature.',
  internal: 'The server failed on this request. Try again; if it keeps failing, check the server log.',
};

export function hintFor(code: string | undefined): string {
  return (code && (HINTS as Record<string, string>)[code]) || 'Reload the page; if it keeps happening, check that the server is running.';
}

/** What to do after a selection or label edit was refused (op:submit, sel:* acks). */
export function selectionHint(code: string | undefined, message = ''): string {
  if (/nothing is rendered/i.test(message)) return 'Click on an object in the picture, not on the background.';
  if (/semantic features|no sem_/i.test(message)) return 'This scene has no semantic features: select with the brush (B) or box (X) instead.';
  if (/text encoder|clip/i.test(message)) return 'Text queries need a CLIP text encoder on the server and a scene with CLIP features; click on the object, or use the brush (B) or box (X).';
  if (/empty|longer than/i.test(message)) return 'Type a short description of the object, e.g. "hands".';
  if (/region/i.test(message)) return 'Brush or drag a box over the object in the picture.';
  if (/does not exist|deleted/i.test(message)) return 'Someone else changed this label meanwhile; the list now shows the current state.';
  if (/nothing of yours/i.test(message)) return 'Undo and redo apply to your own edits in this room.';
  if (/^(?:[a-z:]+: )?viewers cannot/i.test(message)) return 'Your link lets you view this room, not change it. Ask the owner for an annotator link to make labels.';
  if (code === 'bad_request') return 'The server refused this edit. Try again; reload the page if it keeps happening.';
  return hintFor(code);
}
