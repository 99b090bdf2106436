// In-memory scene representation shared by the server, the CLI, the reference renderer and
// the native binding. Structure of arrays: one typed array per attribute, no per-Gaussian
// objects, so 1M Gaussians cost a handful of allocations. Shapes in brackets.

/** Pinhole camera, OpenCV convention (x right, y down, z forward). Also the wire format. */
export interface CameraJSON {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  /** 4x4 world-to-camera transform, row-major, 16 numbers. */
  worldToCamera: number[];
}

export type ShDegree = 0 | 1 | 2 | 3;

export interface GaussianCloud {
  count: number;
  shDegree: ShDegree;
  /** [N,3] canonical centres, world units. */
  positions: Float32Array;
  /** [N,4] quaternion w,x,y,z as stored (not necessarily unit length). */
  rotations: Float32Array;
  /** [N,3] log standard deviations. */
  logScales: Float32Array;
  /** [N] opacity logits (before sigmoid). */
  opacityLogits: Float32Array;
  /** [N,K,3], K = (shDegree+1)^2; k = 0 is f_dc. */
  sh: Float32Array;
}

/** Per-Gaussian semantic features, [N,D]. fp32 as read; the bundle stores fp16. */
export interface SemanticFeatures {
  dim: number;
  data: Float32Array;
}

/** Additive deformation of every Gaussian at one time (see docs/RENDERING.md). */
export interface DeformSample {
  /** [N,3] */ dxyz: Float32Array;
  /** [N,4] */ drot: Float32Array;
  /** [N,3] */ dscale: Float32Array;
}

export interface DeformKeyframe extends DeformSample {
  t: number;
}

export function shCoeffCount(degree: ShDegree): number {
  return (degree + 1) * (degree + 1);
}
