/** Bumped on any incompatible change to an event or payload; checked at connect. */
export const PROTOCOL_VERSION = 1;
