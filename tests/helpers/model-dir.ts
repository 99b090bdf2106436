// Builds small DGD-shaped training outputs for import tests: a .ply with sem_* features,
// deform.pth (a PyTorch-written fixture), cfg_args, cameras.json and a D-NeRF-style dataset.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { invertRigid, makeCamera, type Vec3 } from '../../server/scene/camera';
import { generateDemoScene } from '../../server/scene/demo';
import { writePly } from '../../server/scene/ply';
import { ROOT } from './data';

export interface FakeModel {
  modelDir: string;
  datasetDir: string;
  times: number[];
}

/** OpenCV world-to-camera -> Blender/OpenGL camera-to-world (the inverse of the importer's conversion). */
function toBlenderC2W(w2c: number[]): number[][] {
  const c2w = invertRigid(w2c);
  const rows: number[][] = [];
  for (let r = 0; r < 4; r++) rows.push([c2w[r * 4]!, -c2w[r * 4 + 1]!, -c2w[r * 4 + 2]!, c2w[r * 4 + 3]!]);
  rows[3] = [0, 0, 0, 1];
  return rows;
}

export async function makeFakeModel(opts: { deformFixture?: string; frames?: number; size?: number } = {}): Promise<FakeModel> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'splatsync-model-'));
  const modelDir = path.join(root, 'output');
  const datasetDir = path.join(root, 'dataset');
  const demo = generateDemoScene({ scale: 0.05 });
  const ply = writePly({ cloud: demo.cloud, features: demo.features });
  for (const it of [3000, 7000]) {
    mkdirSync(path.join(modelDir, `point_cloud/iteration_${it}`), { recursive: true });
  }
  // An older, smaller iteration that must not be picked.
  const older = generateDemoScene({ scale: 0.02 });
  writeFileSync(path.join(modelDir, 'point_cloud/iteration_3000/point_cloud.ply'), writePly({ cloud: older.cloud, features: older.features }));
  writeFileSync(path.join(modelDir, 'point_cloud/iteration_7000/point_cloud.ply'), ply);
  mkdirSync(path.join(modelDir, 'deform/iteration_7000'), { recursive: true });
  copyFileSync(path.join(ROOT, 'tests/fixtures/deform', opts.deformFixture ?? 'blender.pth'), path.join(modelDir, 'deform/iteration_7000/deform.pth'));
  writeFileSync(
    path.join(modelDir, 'cfg_args'),
    `Namespace(sh_degree=3, source_path='${datasetDir}', model_path='${modelDir}', images='images', resolution=-1, white_background=True, data_device='cuda', eval=True, load2gpu_on_the_fly=False, is_blender=True, is_6dof=False, semantic_dimension=${demo.features.dim})`,
  );

  const n = opts.frames ?? 4;
  const size = opts.size ?? 64;
  const times: number[] = [];
  mkdirSync(path.join(datasetDir, 'train'), { recursive: true });
  mkdirSync(path.join(datasetDir, 'test'), { recursive: true });
  const fov = (50 * Math.PI) / 180;
  for (const split of ['train', 'test'] as const) {
    const frames = [];
    for (let i = 0; i < n; i++) {
      const a = (i / n) * 1.2 - 0.6 + (split === 'test' ? 0.07 : 0);
      const eye: Vec3 = [Math.sin(a) * 5, 2.2, Math.cos(a) * 5];
      const cam = makeCamera(size, size, fov, eye, [0, 0.8, 0], [0, 1, 0]);
      const time = split === 'train' ? (2 * i) / (2 * n - 1) : (2 * i + 1) / (2 * n - 1);
      times.push(time);
      const file = `./${split}/r_${i}`;
      await sharp({ create: { width: size, height: size, channels: 4, background: { r: 200, g: 100, b: 50, alpha: 1 } } }).png().toFile(path.join(datasetDir, `${file}.png`));
      frames.push({ file_path: file, rotation: 0.1, time, transform_matrix: toBlenderC2W(cam.worldToCamera) });
    }
    writeFileSync(path.join(datasetDir, `transforms_${split}.json`), JSON.stringify({ camera_angle_x: fov, frames }, null, 1));
  }
  return { modelDir, datasetDir, times: times.sort((a, b) => a - b) };
}
