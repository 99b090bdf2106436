// DeformNetwork (Deformable-3DGS / DGD `utils/time_utils.py`): what a deform.pth holds, read
// back from the state_dict's keys and shapes alone.
//
// The network, as those repositories define it (our own description, used by onnx-model.ts):
//   γ_n(p) = [p, sin(2^0 p), cos(2^0 p), sin(2^1 p), cos(2^1 p), ..., sin(2^(n-1) p), cos(2^(n-1) p)]
//            (input kept first; for each frequency the sin of every component, then the cos)
//   x_emb = γ_nx(xyz)            3 + 6·nx wide (nx = 10 by default)
//   t_emb = γ_nt(t)              1 + 2·nt wide (nt = 10, or 6 for D-NeRF `is_blender`)
//   is_blender: t_emb = timenet(t_emb) = Linear(1+2nt -> 256) -> ReLU -> Linear(256 -> 30)
//   h = [x_emb, t_emb]; for i in 0..D-1: h = relu(linear.i(h)); if i ∈ skips: h = [x_emb, t_emb, h]
//   (skips = [D/2]: linear.(D/2+1) takes W + |x_emb| + |t_emb| inputs)
//   heads from h (width W): gaussian_warp (3) -> d_xyz, gaussian_rotation (4), gaussian_scaling (3);
//   is_6dof replaces gaussian_warp by branch_w (3) and branch_v (3): a screw motion, see onnx-model.ts.
// Nothing here depends on D = 8, W = 256 or the skip position: all are read from the shapes.
import type { Tensor } from '../import/pth';

export interface LinearSpec {
  /** Module prefix in the state_dict, e.g. 'linear.5' ('.weight' / '.bias' appended). */
  key: string;
  inFeatures: number;
  outFeatures: number;
}

export interface DeformNetworkSpec {
  /** D: number of trunk layers (linear.0 .. linear.D-1). */
  depth: number;
  /** W: trunk width. */
  width: number;
  /** Indices i after whose ReLU the encoded inputs are concatenated again ([x_emb, t_emb, h]). */
  skips: number[];
  /** Positional-encoding frequencies for xyz (3 + 6·n inputs) and t (1 + 2·n inputs). */
  xyzMultires: number;
  tMultires: number;
  xyzEmbedDim: number;
  tEmbedDim: number;
  /** D-NeRF variant: t_emb passes through timenet (Linear -> ReLU -> Linear) first. */
  isBlender: boolean;
  timenet: { hidden: LinearSpec; out: LinearSpec } | null;
  /** Width of what the trunk sees of time: timenet's output, else tEmbedDim. */
  tFeatureDim: number;
  /** In-features of linear.0: xyzEmbedDim + tFeatureDim. */
  inputDim: number;
  /** Rigid (screw) motion heads branch_w / branch_v instead of gaussian_warp. */
  is6dof: boolean;
  trunk: LinearSpec[];
  heads: {
    warp: LinearSpec | null;
    branchW: LinearSpec | null;
    branchV: LinearSpec | null;
    rotation: LinearSpec;
    scaling: LinearSpec;
  };
  /** Keys of the state_dict that are not part of the network (ignored). */
  ignoredKeys: string[];
  /** Human-readable remarks: non-default choices, assumptions made. */
  notes: string[];
}

export interface DeformNetworkHints {
  /** Assert the D-NeRF variant (timenet); contradicting keys are an error. */
  isBlender?: boolean;
  /** Assert the 6-DoF variant (branch_w / branch_v); contradicting keys are an error. */
  is6dof?: boolean;
  /** t multires when there is no timenet to read it from (default 10, as DeformNetwork uses). */
  tMultires?: number;
  /** Assert the xyz multires. */
  xyzMultires?: number;
}

export class DeformNetworkError extends Error {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message);
    this.name = 'DeformNetworkError';
  }
}

const shapeStr = (t: Tensor | undefined): string => (t ? `[${t.shape.join(', ')}]` : 'missing');

/** DeformNetwork's default t multires without timenet, and with it (is_blender). */
const DEFAULT_T_MULTIRES = 10;

/**
 * Reads the architecture from a DeformNetwork state_dict. Refuses (DeformNetworkError, naming
 * the key and the shapes) anything that is not consistent with DeformNetwork.
 */
export function inferDeformNetwork(sd: Map<string, Tensor>, hints: DeformNetworkHints = {}): DeformNetworkSpec {
  const fail = (msg: string, key?: string): never => {
    throw new DeformNetworkError(msg, key);
  };
  const used = new Set<string>();
  const notes: string[] = [];

  /** A Linear module `prefix`: weight [out, in] and bias [out]; checks expected sizes. */
  const linear = (prefix: string, expectOut?: number, expectIn?: number): LinearSpec => {
    const w = sd.get(`${prefix}.weight`);
    const b = sd.get(`${prefix}.bias`);
    if (!w) return fail(`${prefix}.weight is missing from the state_dict`, `${prefix}.weight`);
    if (w.shape.length !== 2) fail(`${prefix}.weight is ${shapeStr(w)}, expected a matrix [out, in]`, `${prefix}.weight`);
    const [out, inF] = w.shape as [number, number];
    if (expectOut !== undefined && out !== expectOut) fail(`${prefix}.weight is ${shapeStr(w)}, expected [${expectOut}, ${expectIn ?? inF}]`, `${prefix}.weight`);
    if (expectIn !== undefined && inF !== expectIn) fail(`${prefix}.weight is ${shapeStr(w)}, expected [${out}, ${expectIn}]`, `${prefix}.weight`);
    if (!b) return fail(`${prefix}.bias is missing (${prefix}.weight is ${shapeStr(w)})`, `${prefix}.bias`);
    if (b.shape.length !== 1 || b.shape[0] !== out) fail(`${prefix}.bias is ${shapeStr(b)} but ${prefix}.weight is ${shapeStr(w)}: expected [${out}]`, `${prefix}.bias`);
    used.add(`${prefix}.weight`);
    used.add(`${prefix}.bias`);
    return { key: prefix, inFeatures: inF, outFeatures: out };
  };

  // Trunk: linear.0 .. linear.D-1, consecutive.
  const indices = new Set<number>();
  for (const k of sd.keys()) {
    const m = /^linear\.(\d+)\.(weight|bias)$/.exec(k);
    if (m) indices.add(Number(m[1]));
  }
  if (indices.size === 0) fail(`no linear.N.weight keys: not a DeformNetwork state_dict (keys: ${[...sd.keys()].slice(0, 8).join(', ')}${sd.size > 8 ? ', ...' : ''})`);
  const depth = Math.max(...indices) + 1;
  for (let i = 0; i < depth; i++) if (!indices.has(i)) fail(`linear.${i}.weight is missing but linear.${depth - 1} exists`, `linear.${i}.weight`);
  const first = linear('linear.0');
  const width = first.outFeatures;
  const inputDim = first.inFeatures;
  const trunk: LinearSpec[] = [first];
  const skips: number[] = [];
  for (let i = 1; i < depth; i++) {
    const key = `linear.${i}`;
    const l = linear(key);
    if (l.outFeatures !== width) fail(`${key}.weight is [${l.outFeatures}, ${l.inFeatures}] but the trunk width (linear.0.weight [${width}, ${inputDim}]) is ${width}`, `${key}.weight`);
    if (l.inFeatures === width + inputDim) skips.push(i - 1);
    else if (l.inFeatures !== width) {
      fail(
        `${key}.weight is [${l.outFeatures}, ${l.inFeatures}] but a trunk layer takes ${width} inputs, or after a skip ${width} + ${inputDim} = ${width + inputDim}`,
        `${key}.weight`,
      );
    }
    trunk.push(l);
  }
  if (depth >= 2 && !(skips.length === 1 && skips[0] === depth >> 1)) {
    notes.push(`skip layers [${skips.join(', ')}] (DeformNetwork's default for D=${depth} is [${depth >> 1}])`);
  }

  // Heads.
  const has = (p: string) => sd.has(`${p}.weight`) || sd.has(`${p}.bias`);
  const is6dof = has('branch_w') || has('branch_v');
  if (is6dof && has('gaussian_warp')) fail('both gaussian_warp and branch_w/branch_v are present: neither the 6-DoF nor the plain variant', 'gaussian_warp.weight');
  if (hints.is6dof !== undefined && hints.is6dof !== is6dof) {
    fail(hints.is6dof ? 'is_6dof was asked for but the state_dict has no branch_w / branch_v (it has gaussian_warp)' : 'is_6dof = false was asked for but the state_dict has branch_w / branch_v', is6dof ? 'branch_w.weight' : 'gaussian_warp.weight');
  }
  const warp = is6dof ? null : linear('gaussian_warp', 3, width);
  const branchW = is6dof ? linear('branch_w', 3, width) : null;
  const branchV = is6dof ? linear('branch_v', 3, width) : null;
  const rotation = linear('gaussian_rotation', 4, width);
  const scaling = linear('gaussian_scaling', 3, width);

  // Time path.
  const isBlender = has('timenet.0') || has('timenet.2');
  if (hints.isBlender !== undefined && hints.isBlender !== isBlender) {
    fail(hints.isBlender ? 'is_blender was asked for but the state_dict has no timenet.0 / timenet.2' : 'is_blender = false was asked for but the state_dict has timenet', 'timenet.0.weight');
  }
  let timenet: DeformNetworkSpec['timenet'] = null;
  let tMultires: number;
  let tFeatureDim: number;
  if (isBlender) {
    const hidden = linear('timenet.0');
    const out = linear('timenet.2', undefined, hidden.outFeatures);
    timenet = { hidden, out };
    const tIn = hidden.inFeatures;
    if (tIn < 1 || (tIn - 1) % 2 !== 0) fail(`timenet.0.weight is [${hidden.outFeatures}, ${tIn}]: ${tIn} is not a t encoding width 1 + 2·n`, 'timenet.0.weight');
    tMultires = (tIn - 1) / 2;
    if (hints.tMultires !== undefined && hints.tMultires !== tMultires) fail(`timenet.0.weight is [${hidden.outFeatures}, ${tIn}]: t multires ${tMultires}, not the ${hints.tMultires} asked for`, 'timenet.0.weight');
    tFeatureDim = out.outFeatures;
    if (tMultires !== 6) notes.push(`t multires ${tMultires} (is_blender default is 6)`);
    if (hidden.outFeatures !== 256 || out.outFeatures !== 30) notes.push(`timenet ${tIn} -> ${hidden.outFeatures} -> ${out.outFeatures} (default ${tIn} -> 256 -> 30)`);
  } else {
    tMultires = hints.tMultires ?? DEFAULT_T_MULTIRES;
    tFeatureDim = 1 + 2 * tMultires;
  }
  const tEmbedDim = 1 + 2 * tMultires;

  // xyz encoding width = what linear.0 takes besides time.
  const xyzEmbedDim = inputDim - tFeatureDim;
  if (xyzEmbedDim < 3 || (xyzEmbedDim - 3) % 6 !== 0) {
    const alternatives: string[] = [];
    if (!isBlender) {
      for (let m = 0; 1 + 2 * m + 3 <= inputDim; m++) {
        const rest = inputDim - (1 + 2 * m) - 3;
        if (rest % 6 === 0) alternatives.push(`xyz multires ${rest / 6} + t multires ${m}`);
      }
    }
    fail(
      `linear.0.weight is [${width}, ${inputDim}]: ${inputDim} - ${tFeatureDim} (${isBlender ? 'timenet output' : `t encoding, multires ${tMultires}`}) = ${xyzEmbedDim} ` +
        `is not an xyz encoding width 3 + 6·n` +
        (alternatives.length ? `; it would be with ${alternatives.join(', or ')} (pass tMultires)` : ''),
      'linear.0.weight',
    );
  }
  const xyzMultires = (xyzEmbedDim - 3) / 6;
  if (hints.xyzMultires !== undefined && hints.xyzMultires !== xyzMultires) {
    fail(`linear.0.weight is [${width}, ${inputDim}]: xyz multires ${xyzMultires}, not the ${hints.xyzMultires} asked for`, 'linear.0.weight');
  }
  if (xyzMultires !== 10) {
    notes.push(`xyz multires ${xyzMultires} (default 10): linear.0 takes ${xyzEmbedDim} + ${tFeatureDim} = ${inputDim} inputs, t multires ${tMultires}${isBlender ? ' (read from timenet.0)' : ' (DeformNetwork\'s fixed value without timenet)'}`);
  }

  const ignoredKeys = [...sd.keys()].filter((k) => !used.has(k));
  if (ignoredKeys.length) notes.push(`ignored keys: ${ignoredKeys.join(', ')}`);

  return {
    depth,
    width,
    skips,
    xyzMultires,
    tMultires,
    xyzEmbedDim,
    tEmbedDim,
    isBlender,
    timenet,
    tFeatureDim,
    inputDim,
    is6dof,
    trunk,
    heads: { warp, branchW, branchV, rotation, scaling },
    ignoredKeys,
    notes,
  };
}

/** Multiply-adds x2 per Gaussian for one evaluation (the trunk, timenet and heads). */
export function flopsPerGaussian(spec: DeformNetworkSpec): number {
  const lin = (l: LinearSpec | null) => (l ? 2 * l.inFeatures * l.outFeatures : 0);
  let f = spec.trunk.reduce((a, l) => a + lin(l), 0);
  if (spec.timenet) f += lin(spec.timenet.hidden) + lin(spec.timenet.out);
  const h = spec.heads;
  f += lin(h.warp) + lin(h.branchW) + lin(h.branchV) + lin(h.rotation) + lin(h.scaling);
  return f;
}

/** One-line description, e.g. "D=8 W=256 skips [4], xyz multires 10, t multires 10". */
export function describeDeformNetwork(spec: DeformNetworkSpec): string {
  return (
    `DeformNetwork D=${spec.depth} W=${spec.width} skips [${spec.skips.join(', ')}], xyz multires ${spec.xyzMultires}, t multires ${spec.tMultires}` +
    (spec.isBlender ? `, timenet ${spec.tEmbedDim}->${spec.timenet!.hidden.outFeatures}->${spec.tFeatureDim} (is_blender)` : '') +
    (spec.is6dof ? ', 6-DoF (branch_w, branch_v)' : '')
  );
}
