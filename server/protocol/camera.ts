import { z } from 'zod';

/** Largest image side and area the server renders; bigger requests are refused. */
export const MAX_IMAGE_SIDE = 4096;
export const MAX_IMAGE_PIXELS = 4096 * 4096;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** CameraJSON (server/scene/types.ts): OpenCV pinhole, worldToCamera row-major. */
export const Camera = z
  .object({
    width: z.number().int().min(1).max(MAX_IMAGE_SIDE),
    height: z.number().int().min(1).max(MAX_IMAGE_SIDE),
    fx: finite.refine((v) => v > 0, 'must be > 0'),
    fy: finite.refine((v) => v > 0, 'must be > 0'),
    cx: finite,
    cy: finite,
    worldToCamera: z.array(finite).length(16),
  })
  .strict()
  .refine((c) => c.width * c.height <= MAX_IMAGE_PIXELS, { message: `image area must be <= ${MAX_IMAGE_PIXELS} pixels` });
export type Camera = z.infer<typeof Camera>;
