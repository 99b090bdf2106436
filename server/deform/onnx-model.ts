// DeformNetwork as an ONNX graph (opset 17, IR version 8), built in memory from a state_dict.
//
// Inputs  xyz [N,3] float (canonical centres), t [N,1] float.
// Outputs d_xyz [N,3], d_rotation [N,4], d_scaling [N,3], applied as DESIGN.md §1 says:
//   mean = x + d_xyz, scale = exp(s) + d_scaling, rot = normalize(r) + d_rotation.
//
// Positional encoding γ_n(p) for p [N,d]: Unsqueeze to [N,1,d], Mul by the frequencies
// 2^0..2^(n-1) shaped [n,1] -> [N,n,d]; Sin and Cos, Concat on the last axis -> [N,n,2d]
// (per frequency: sin of each component, then cos), Reshape to [N,2nd], Concat after p.
// Linear layers are Gemm(h, W, b, transB=1) with W as PyTorch stores it ([out, in]).
//
// 6-DoF variant: the public code turns branch_w / branch_v into a screw motion
//   θ = |w|, ŵ = w/θ + 1e-5, v̂ = v/θ + 1e-5 (the +1e-5 after the division, as written there),
//   R = I + sin θ [ŵ]× + (1 - cos θ) [ŵ]×², p = (θ I + (1 - cos θ) [ŵ]× + (θ - sin θ) [ŵ]×²) v̂,
// and the renderer places the Gaussian at R x + p. The graph outputs the same meaning as the
// plain variant, d_xyz = R x + p - x, computed without the cancellation:
//   d_xyz = sin θ (ŵ×x) + (1-cos θ) ŵ×(ŵ×x) + θ v̂ + (1-cos θ) (ŵ×v̂) + (θ - sin θ) ŵ×(ŵ×v̂).
// (θ = 0 gives NaN, as in the original.)
import type { Tensor } from '../import/pth';
import type { DeformNetworkSpec, LinearSpec } from './network';
import { encodeModel, type OnnxGraph, type OnnxNode, type OnnxInitializer } from './onnx-proto';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

/** Builds the serialized ModelProto for `spec` with the weights of `sd`. */
export function buildDeformOnnx(spec: DeformNetworkSpec, sd: Map<string, Tensor>): Uint8Array {
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  let counter = 0;
  const fresh = (base: string) => `${base}_${counter++}`;
  const node = (op: string, inputs: string[], attrs?: OnnxNode['attrs'], outName?: string): string => {
    const out = outName ?? fresh(op.toLowerCase());
    nodes.push({ op, inputs, outputs: [out], name: `${op}_${nodes.length}`, attrs });
    return out;
  };
  const constF = (name: string, dims: number[], values: number[] | Float32Array): string => {
    inits.push({ name, dims, data: values instanceof Float32Array ? values : Float32Array.from(values) });
    return name;
  };
  const constI = (name: string, dims: number[], values: number[]): string => {
    inits.push({ name, dims, data: { int64: values } });
    return name;
  };

  const weight = (key: string): Float32Array => {
    const t = sd.get(key);
    if (!t) throw new Error(`${key} is missing from the state_dict`);
    return t.data;
  };
  const gemm = (x: string, l: LinearSpec, outName?: string): string => {
    const w = constF(`${l.key}.weight`, [l.outFeatures, l.inFeatures], weight(`${l.key}.weight`));
    const b = constF(`${l.key}.bias`, [l.outFeatures], weight(`${l.key}.bias`));
    return node('Gemm', [x, w, b], { transB: { i: 1 } }, outName);
  };

  const axis1 = constI('axes_1', [1], [1]);
  const encode = (p: string, d: number, n: number, tag: string): string => {
    if (n === 0) return p;
    const freqs = constF(`${tag}_freqs`, [n, 1], Array.from({ length: n }, (_, k) => 2 ** k));
    const pu = node('Unsqueeze', [p, axis1]);
    const scaled = node('Mul', [pu, freqs]);
    const sc = node('Concat', [node('Sin', [scaled]), node('Cos', [scaled])], { axis: { i: 2 } });
    const flat = node('Reshape', [sc, constI(`${tag}_shape`, [2], [0, 2 * n * d])]);
    return node('Concat', [p, flat], { axis: { i: 1 } }, `${tag}_emb`);
  };

  const xEmb = encode('xyz', 3, spec.xyzMultires, 'xyz');
  let tFeat = encode('t', 1, spec.tMultires, 't');
  if (spec.timenet) tFeat = gemm(node('Relu', [gemm(tFeat, spec.timenet.hidden)]), spec.timenet.out, 't_feat');

  let h = node('Concat', [xEmb, tFeat], { axis: { i: 1 } }, 'h_in');
  spec.trunk.forEach((l, i) => {
    h = node('Relu', [gemm(h, l)]);
    if (spec.skips.includes(i)) h = node('Concat', [xEmb, tFeat, h], { axis: { i: 1 } });
  });

  gemm(h, spec.heads.rotation, 'd_rotation');
  gemm(h, spec.heads.scaling, 'd_scaling');
  if (!spec.is6dof) {
    gemm(h, spec.heads.warp!, 'd_xyz');
  } else {
    const w = gemm(h, spec.heads.branchW!);
    const v = gemm(h, spec.heads.branchV!);
    const theta = node('Sqrt', [node('ReduceSum', [node('Mul', [w, w]), axis1], { keepdims: { i: 1 } })]);
    const eps = constF('eps_1e-5', [], [1e-5]);
    const one = constF('one', [], [1]);
    const wn = node('Add', [node('Div', [w, theta]), eps]);
    const vn = node('Add', [node('Div', [v, theta]), eps]);
    const sinT = node('Sin', [theta]);
    const oneMinusCos = node('Sub', [one, node('Cos', [theta])]);
    const thetaMinusSin = node('Sub', [theta, sinT]);
    const yzx = constI('idx_yzx', [3], [1, 2, 0]);
    const zxy = constI('idx_zxy', [3], [2, 0, 1]);
    const gather = (a: string, idx: string) => node('Gather', [a, idx], { axis: { i: 1 } });
    const wYzx = gather(wn, yzx);
    const wZxy = gather(wn, zxy);
    // ŵ × b = ŵ_yzx * b_zxy - ŵ_zxy * b_yzx
    const cross = (b: string) => node('Sub', [node('Mul', [wYzx, gather(b, zxy)]), node('Mul', [wZxy, gather(b, yzx)])]);
    const wx = cross('xyz');
    const wwx = cross(wx);
    const wv = cross(vn);
    const wwv = cross(wv);
    const terms = [
      node('Mul', [sinT, wx]),
      node('Mul', [oneMinusCos, node('Add', [wwx, wv])]),
      node('Mul', [theta, vn]),
      node('Mul', [thetaMinusSin, wwv]),
    ];
    node('Add', [node('Add', [terms[0]!, terms[1]!]), node('Add', [terms[2]!, terms[3]!])], undefined, 'd_xyz');
  }

  const graph: OnnxGraph = {
    name: 'DeformNetwork',
    nodes,
    initializers: inits,
    inputs: [
      { name: 'xyz', dims: ['N', 3] },
      { name: 't', dims: ['N', 1] },
    ],
    outputs: [
      { name: 'd_xyz', dims: ['N', 3] },
      { name: 'd_rotation', dims: ['N', 4] },
      { name: 'd_scaling', dims: ['N', 3] },
    ],
  };
  return encodeModel(graph, { irVersion: ONNX_IR_VERSION, opset: ONNX_OPSET, producer: 'splatsync', producerVersion: '1' });
}
