import { z } from 'zod';

/** The closed set of error codes a client can receive. */
export const ErrorCode = z.enum([
  'bad_request', // payload failed validation
  'protocol_mismatch',
  'not_found',
  'not_joined', // event for a scene/room this socket has not joined
  'forbidden',
  'too_large',
  'rate_limited',
  'unavailable', // a capability this scene or server lacks
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorPayload = z.object({
  code: ErrorCode,
  message: z.string(),
  /** The event that caused it, when there is one. */
  event: z.string().optional(),
});
export type ErrorPayload = z.infer<typeof ErrorPayload>;

export type Ack<T> = { ok: true; data: T } | { ok: false; code: ErrorCode; message: string };

/** Human-readable summary of a zod failure: "camera.width: Too big: expected number to be <=4096". */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`)
    .join('; ');
}
