// Client side: a three PerspectiveCamera whose projection comes from pinhole intrinsics
// (see camera-convert.ts), so 3D overlays line up with the server's frame pixel for pixel.
import { PerspectiveCamera } from 'three';
import { fovYDegrees, projectionFromIntrinsics, type Intrinsics } from './camera-convert';

export class IntrinsicsCamera extends PerspectiveCamera {
  intrinsics: Intrinsics;

  constructor(k: Intrinsics, near = 0.01, far = 1000) {
    super(fovYDegrees(k), k.width / k.height, near, far);
    this.intrinsics = { ...k };
    this.updateProjectionMatrix();
  }

  setIntrinsics(k: Intrinsics): void {
    this.intrinsics = { ...k };
    this.updateProjectionMatrix();
  }

  /** Replaces three's fov/aspect projection with the intrinsics one (fov and aspect are kept in sync for readers). */
  override updateProjectionMatrix(): void {
    // PerspectiveCamera's constructor calls this before `intrinsics` exists.
    if (!this.intrinsics) return super.updateProjectionMatrix();
    const k = this.intrinsics;
    this.fov = fovYDegrees(k);
    this.aspect = k.width / k.height;
    this.zoom = 1;
    projectionFromIntrinsics(k, this.near, this.far, this.projectionMatrix);
    this.projectionMatrixInverse.copy(this.projectionMatrix).invert();
  }
}
