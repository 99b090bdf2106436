// The pickle inside a PyTorch zip checkpoint (`<archive>/data.pkl`), read with `pickleparser`.
//
// pickleparser runs the opcodes; this file decides what it may meet. A state_dict pickle
// uses a small set of opcodes (protocol 2 as torch.save writes it, plus the protocol 4
// framing/memo opcodes should a file be saved with a higher pickle_protocol), a handful of
// globals (collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch.<T>Storage) and
// BINPERSID for storages. Anything else is refused before it runs, with its byte offset:
// the reader's hasNext() is called by the parser exactly once before each opcode byte is read,
// so that is where the opcode is checked and its position recorded.
import { BufferReader, NameRegistry, Parser } from 'pickleparser';

/** Opcodes a state_dict pickle may use, by byte. Everything else is refused. */
const ALLOWED_OPCODES: ReadonlyMap<number, string> = new Map([
  [0x80, 'PROTO'], [0x95, 'FRAME'], [0x2e, 'STOP'],
  [0x28, 'MARK'], [0x30, 'POP'], [0x31, 'POP_MARK'], [0x32, 'DUP'],
  [0x4e, 'NONE'], [0x88, 'NEWTRUE'], [0x89, 'NEWFALSE'],
  [0x4a, 'BININT'], [0x4b, 'BININT1'], [0x4d, 'BININT2'], [0x8a, 'LONG1'], [0x47, 'BINFLOAT'],
  [0x58, 'BINUNICODE'], [0x8c, 'SHORT_BINUNICODE'], [0x8d, 'BINUNICODE8'],
  [0x42, 'BINBYTES'], [0x43, 'SHORT_BINBYTES'],
  [0x29, 'EMPTY_TUPLE'], [0x74, 'TUPLE'], [0x85, 'TUPLE1'], [0x86, 'TUPLE2'], [0x87, 'TUPLE3'],
  [0x5d, 'EMPTY_LIST'], [0x61, 'APPEND'], [0x65, 'APPENDS'],
  [0x7d, 'EMPTY_DICT'], [0x73, 'SETITEM'], [0x75, 'SETITEMS'],
  [0x63, 'GLOBAL'], [0x93, 'STACK_GLOBAL'], [0x52, 'REDUCE'], [0x62, 'BUILD'], [0x81, 'NEWOBJ'],
  [0x51, 'BINPERSID'],
  [0x68, 'BINGET'], [0x6a, 'LONG_BINGET'], [0x71, 'BINPUT'], [0x72, 'LONG_BINPUT'], [0x94, 'MEMOIZE'],
]);

/** A storage reference as torch.save writes it: persistent id ('storage', type, key, location, numel). */
export interface StorageRef {
  readonly kind: 'storage';
  /** e.g. 'FloatStorage' (from the pid's storage type global). */
  typeName: string;
  /** The record name: the storage lives in `<archive>/data/<key>`. */
  key: string;
  /** 'cpu', 'cuda:0', ... */
  location: string;
  /** Number of elements the storage holds. */
  numel: number;
}

/** What _rebuild_tensor_v2 left behind; materialised later, when the key is known. */
export interface TensorRef {
  readonly kind: 'tensor';
  storage: StorageRef;
  storageOffset: number;
  size: number[];
  stride: number[];
}

/** The parsed state_dict: key -> tensor reference (other values kept as parsed). */
export type PickledStateDict = Map<unknown, unknown>;

export class PickleError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'PickleError';
  }
}

class StorageType {
  readonly kind = 'storageType';
  constructor(readonly name: string) {}
}

/** collections.OrderedDict: a Map; its BUILD state (`_metadata`) is dropped. */
class OrderedDict extends Map<unknown, unknown> {
  __setstate__(): void {}
}

class StateDictNames extends NameRegistry {
  constructor(private readonly where: () => number) {
    super();
    this.register('collections', 'OrderedDict', () => new OrderedDict());
    this.register('torch._utils', '_rebuild_tensor_v2', rebuildTensor);
    this.register('torch._utils', '_rebuild_tensor', rebuildTensor);
    // A Parameter pickled as such (torch.save of parameters rather than a state_dict).
    this.register('torch._utils', '_rebuild_parameter', (data: unknown) => data);
  }

  override onMissingName(module: string, name: string): never {
    throw new PickleError(`unsupported pickle global ${module}.${name} at byte ${this.where()}`, this.where());
  }

  override resolve(module: string, name: string) {
    // Every typed storage class resolves; unsupported dtypes are refused per key later.
    if (module === 'torch' && name.endsWith('Storage')) return new StorageType(name) as never;
    return super.resolve(module, name);
  }
}

function rebuildTensor(storage: unknown, storageOffset: unknown, size: unknown, stride: unknown): TensorRef {
  if (!isStorageRef(storage)) throw new Error('_rebuild_tensor_v2: first argument is not a storage');
  const ints = (v: unknown, what: string): number[] => {
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0)) throw new Error(`_rebuild_tensor_v2: bad ${what}`);
    return v as number[];
  };
  if (!Number.isInteger(storageOffset) || (storageOffset as number) < 0) throw new Error('_rebuild_tensor_v2: bad storage offset');
  const sz = ints(size, 'size');
  const st = ints(stride, 'stride');
  if (sz.length !== st.length) throw new Error(`_rebuild_tensor_v2: size [${sz}] and stride [${st}] differ in rank`);
  return { kind: 'tensor', storage, storageOffset: storageOffset as number, size: sz, stride: st };
}

export function isStorageRef(v: unknown): v is StorageRef {
  return typeof v === 'object' && v !== null && (v as StorageRef).kind === 'storage';
}

export function isTensorRef(v: unknown): v is TensorRef {
  return typeof v === 'object' && v !== null && (v as TensorRef).kind === 'tensor';
}

function persistentStorage(pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') {
    throw new Error(`unsupported persistent id ${JSON.stringify(pid)?.slice(0, 80)}`);
  }
  const [, type, key, location, numel] = pid as [string, unknown, unknown, unknown, unknown];
  if (!(type instanceof StorageType)) throw new Error('persistent id: storage type is not a torch storage class');
  if (typeof key !== 'string' || typeof location !== 'string' || !Number.isInteger(numel)) {
    throw new Error('persistent id: expected (storage, type, key: str, location: str, numel: int)');
  }
  return { kind: 'storage', typeName: type.name, key, location, numel: numel as number };
}

/** Where the current opcode began, and the opcode allowlist check. */
class CheckedReader extends BufferReader {
  opStart = 0;
  constructor(private readonly buf: Uint8Array) {
    super(buf);
  }

  override hasNext(): boolean {
    const more = super.hasNext();
    if (more) {
      this.opStart = this.position;
      const op = this.buf[this.position]!;
      if (!ALLOWED_OPCODES.has(op)) {
        throw new PickleError(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${this.position}`, this.position);
      }
    }
    return more;
  }
}

/**
 * Unpickles a state_dict pickle. Tensors come back as TensorRef (not yet read from their
 * storages). Errors are PickleError with the byte offset of the opcode that failed.
 */
export function unpickleStateDict(bytes: Uint8Array): unknown {
  const reader = new CheckedReader(bytes);
  const parser = new Parser({
    nameResolver: new StateDictNames(() => reader.opStart),
    persistentResolver: { resolve: persistentStorage },
    unpicklingTypeOfDictionary: 'Map',
  });
  try {
    return parser.read(reader);
  } catch (e) {
    if (e instanceof PickleError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    if (/end of file|more bytes|end of line/i.test(msg)) {
      throw new PickleError(`truncated pickle: ${msg.replace(/\.$/, '')} (opcode at byte ${reader.opStart})`, reader.opStart);
    }
    throw new PickleError(`${msg.replace(/\.$/, '')} at byte ${reader.opStart}`, reader.opStart);
  }
}
