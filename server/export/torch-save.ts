// Writing a state_dict the way `torch.save(model.state_dict(), path)` does (zip serialization),
// so `torch.load` + `load_state_dict` (Deformable-3DGS / DGD's DeformModel.load_weights) read our
// exported deformation network. Our own encoder, from the format as server/import/pth.ts reads
// it (the reader is the test's oracle):
//   archive/data.pkl     pickle protocol 2: OrderedDict([(key, _rebuild_tensor_v2(storage,
//                        offset, size, stride, requires_grad=False, OrderedDict())), ...]) with
//                        each storage a persistent id ('storage', torch.FloatStorage, '<n>',
//                        'cpu', numel)
//   archive/data/<n>     the storage bytes (float32, little-endian)
//   archive/byteorder    'little'
//   archive/version      '3'
// Entries are stored (not deflated), data.pkl first (the reader takes the archive name from it).
// Only opcodes and globals a state_dict uses (and weights_only loading accepts) appear.
import { zipSync, type Zippable } from 'fflate';

export interface TensorF32 {
  shape: number[];
  data: Float32Array;
}

class PickleWriter {
  private parts: number[] = [];
  op(b: number): this {
    this.parts.push(b);
    return this;
  }
  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  u32(n: number): this {
    return this.op(n & 0xff).op((n >>> 8) & 0xff).op((n >>> 16) & 0xff).op((n >>> 24) & 0xff);
  }
  global(module: string, name: string): this {
    return this.op(0x63).bytes(new TextEncoder().encode(`${module}\n${name}\n`)); // GLOBAL
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58).u32(b.length).bytes(b); // BINUNICODE
  }
  int(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new Error(`pickle int ${n} out of range`);
    if (n < 256) return this.op(0x4b).op(n); // BININT1
    return this.op(0x4a).u32(n); // BININT (signed 32-bit; n < 2^31)
  }
  tuple(items: number[]): this {
    if (items.length === 0) return this.op(0x29); // EMPTY_TUPLE
    this.op(0x28); // MARK
    for (const i of items) this.int(i);
    return this.op(0x74); // TUPLE
  }
  result(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** The bytes of a torch zip checkpoint holding `tensors` (float32, contiguous) in key order. */
export function writeStateDict(tensors: ReadonlyMap<string, TensorF32>, archive = 'archive'): Uint8Array {
  if (!/^[A-Za-z0-9_]+$/.test(archive)) throw new Error(`bad archive name ${archive}`);
  const p = new PickleWriter();
  p.op(0x80).op(2); // PROTO 2
  p.global('collections', 'OrderedDict').op(0x29).op(0x52); // OrderedDict()
  p.op(0x28); // MARK for SETITEMS
  const storages: [string, Uint8Array][] = [];
  let n = 0;
  for (const [key, t] of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new Error(`tensor ${key}: shape [${t.shape.join(', ')}] holds ${numel} values, data has ${t.data.length}`);
    const storageKey = String(n++);
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    p.str(key);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.op(0x28); // MARK: the args tuple
    p.op(0x28).str('storage').global('torch', 'FloatStorage').str(storageKey).str('cpu').int(numel).op(0x74); // pid tuple
    p.op(0x51); // BINPERSID
    p.int(0); // storage offset
    p.tuple(t.shape);
    p.tuple(stride);
    p.op(0x89); // requires_grad = False
    p.global('collections', 'OrderedDict').op(0x29).op(0x52); // backward_hooks = OrderedDict()
    p.op(0x74); // TUPLE
    p.op(0x52); // REDUCE
    const bytes = new Uint8Array(t.data.length * 4);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < t.data.length; i++) dv.setFloat32(i * 4, t.data[i]!, true);
    storages.push([storageKey, bytes]);
  }
  p.op(0x75); // SETITEMS
  p.op(0x2e); // STOP
  const files: Zippable = {};
  files[`${archive}/data.pkl`] = [p.result(), { level: 0 }];
  files[`${archive}/byteorder`] = [new TextEncoder().encode('little'), { level: 0 }];
  for (const [k, b] of storages) files[`${archive}/data/${k}`] = [b, { level: 0 }];
  files[`${archive}/version`] = [new TextEncoder().encode('3\n'), { level: 0 }];
  return zipSync(files, { level: 0 });
}
