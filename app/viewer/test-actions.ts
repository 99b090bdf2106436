'use client';
// Client side: actions for browser tests, beside the read-only window.__splatsync hook. They do
// nothing a user with devtools could not do (emit on the page's socket); the server decides.
import type { OpBody } from '../../server/protocol';
import type { ViewerSession } from './session';

export interface SplatsyncTestActions {
  /**
   * Submits an op whatever this page's role (the UI would not offer it to a viewer): resolves
   * true when the server committed it; a refusal shows the usual toast and resolves false.
   */
  forceOp(body: OpBody, failTitle?: string): Promise<boolean>;
}

declare global {
  interface Window {
    __splatsyncActions?: SplatsyncTestActions;
  }
}

export function installTestActions(session: ViewerSession): () => void {
  const actions: SplatsyncTestActions = {
    forceOp: async (body, failTitle = 'Edit refused') => (await session.annot.submit(body, failTitle, { force: true })) !== null,
  };
  window.__splatsyncActions = actions;
  return () => {
    if (window.__splatsyncActions === actions) delete window.__splatsyncActions;
  };
}
