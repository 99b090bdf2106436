// Dataset cameras of the demo: a monocular "video" (time increases with the frame index) taken
// by a camera that drifts slowly around the scene, hand-held (HyperNeRF-like), 3:1 train/test
// interleaved, plus a home view. Own lookAt with Math.sqrt so the numbers are bit-identical
// everywhere (same convention as server/scene/camera.ts: OpenCV, x right, y down, z forward).
import type { DatasetView } from '../../protocol/events';
import type { CameraJSON } from '../types';
import { dcos, dsin, dtan } from './dmath';
import { add, cross, normalize, sub, type V3 } from './math3';
import type { Rng } from './prng';

export const IMAGE_SIZE = 800;
export const FOV_Y = (50 * Math.PI) / 180;
export const ORBIT_TARGET: V3 = [0, 0.75, 0];
export const WORLD_UP: V3 = [0, 1, 0];
const DEG = Math.PI / 180;

export function lookAtCV(eye: V3, target: V3, up: V3 = WORLD_UP): number[] {
  const z = normalize(sub(target, eye));
  const x = normalize(cross(z, up));
  const y = cross(z, x);
  const t = (r: V3) => -(r[0] * eye[0] + r[1] * eye[1] + r[2] * eye[2]);
  return [x[0], x[1], x[2], t(x), y[0], y[1], y[2], t(y), z[0], z[1], z[2], t(z), 0, 0, 0, 1];
}

export function demoCamera(width: number, height: number, fovY: number, eye: V3, target: V3): CameraJSON {
  const f = height / 2 / dtan(fovY / 2);
  return { width, height, fx: f, fy: f, cx: width / 2, cy: height / 2, worldToCamera: lookAtCV(eye, target) };
}

/** Eye on a sphere around `target`: azimuth from +z towards +x, elevation above the ground. */
export function orbitEye(target: V3, azimuth: number, elevation: number, radius: number): V3 {
  return add(target, [radius * dcos(elevation) * dsin(azimuth), radius * dsin(elevation), radius * dcos(elevation) * dcos(azimuth)]);
}

/**
 * `count` frames; frame i is at time i/(count-1). The camera sweeps from azimuth -65° to +65°
 * with slow wobble in height and distance and a little hand shake. Every 4th frame is 'test'.
 * `index` is the frame's position within its split.
 */
export function datasetViews(rng: Rng, count: number): DatasetView[] {
  const views: DatasetView[] = [];
  let nTrain = 0;
  let nTest = 0;
  for (let i = 0; i < count; i++) {
    const s = i / (count - 1);
    const az = (-65 + 130 * s + 4 * dsin(2 * Math.PI * 2.5 * s)) * DEG + rng.normal() * 0.004;
    const el = (17 + 7 * dsin(2 * Math.PI * 1.2 * s + 0.5)) * DEG + rng.normal() * 0.003;
    const radius = 4.7 + 0.25 * dcos(2 * Math.PI * 0.9 * s) + rng.normal() * 0.01;
    const target = add(ORBIT_TARGET, [rng.normal() * 0.02, rng.normal() * 0.015, rng.normal() * 0.02]);
    const camera = demoCamera(IMAGE_SIZE, IMAGE_SIZE, FOV_Y, orbitEye(target, az, el, radius), target);
    const split = i % 4 === 3 ? 'test' : 'train';
    const index = split === 'test' ? nTest++ : nTrain++;
    views.push({ split, index, time: s, camera });
  }
  return views;
}

export function homeView(): { camera: CameraJSON; target: V3; up: V3 } {
  const target: V3 = [...ORBIT_TARGET];
  const camera = demoCamera(IMAGE_SIZE, IMAGE_SIZE, FOV_Y, orbitEye(target, 28 * DEG, 20 * DEG, 4.9), target);
  return { camera, target, up: [...WORLD_UP] };
}
