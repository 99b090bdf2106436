// CLIP's text encoder run with onnxruntime-node: prompt -> L2-normalized embedding [D].
//
// A CLIP directory (`--clip DIR`, or env SPLATSYNC_CLIP_DIR) holds text_model.onnx and the
// tokenizer files (tokenizer.ts). tools/export_clip_text.py writes such a directory.
//
// The model contract (what the export script produces, and what is accepted):
//   input   token ids, int64 (int32 accepted), shape [1, 77] (a symbolic batch or length
//           dimension is fed 1 and 77; a fixed length L other than 77 is honoured: the
//           prompt is tokenized to L). Ids are start, text tokens, end, then 0-padding, the
//           layout clip.tokenize produces. If the graph has a second input whose name
//           contains "mask", it gets 1 up to and including the end token, 0 after.
//   output  the projected text embedding, float32 (float16 accepted), [1, D] (or [D]).
//           If the output is per-token, [1, L, D], the row at the end-token position is
//           taken (CLIP pools there: the end token has the largest id, so argmax of the ids).
//           With several outputs, the one named text_embeds / embedding / text_features
//           is used, else the first. Normalization in the graph is optional: the embedding
//           is L2-normalized here.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CLIP_CONTEXT_LENGTH, ClipTokenizer, ClipTokenizerError } from './tokenizer';

export const CLIP_MODEL_FILE = 'text_model.onnx';
export const CLIP_DIR_ENV = 'SPLATSYNC_CLIP_DIR';
/** Longest prompt accepted, in characters (Unicode code points, after trimming). */
export const MAX_PROMPT_CHARS = 1000;

/** A bad prompt, a missing file or a model that does not fit the contract. */
export class ClipError extends Error {
  override name = 'ClipError';
  constructor(
    message: string,
    /** 'bad_request': the prompt; 'unavailable': files / model / scene. */
    readonly code: 'bad_request' | 'unavailable' = 'unavailable',
  ) {
    super(message);
  }
}

/** The CLIP directory: the flag, else $SPLATSYNC_CLIP_DIR, else null (text queries off). */
export function resolveClipDir(flag?: string | null, env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  const v = flag?.trim() || env[CLIP_DIR_ENV]?.trim();
  return v ? path.resolve(v) : null;
}

/** Throws ClipError('bad_request') unless `text` is a usable prompt; returns it trimmed. */
export function validatePrompt(text: unknown): string {
  if (typeof text !== 'string') throw new ClipError('the text query must be a string', 'bad_request');
  const t = text.trim();
  if (t === '') throw new ClipError('the text query is empty', 'bad_request');
  let n = 0;
  for (const _ of t) {
    if (++n > MAX_PROMPT_CHARS) {
      throw new ClipError(`the text query is too long: ${countCodePoints(t)} characters, the limit is ${MAX_PROMPT_CHARS}`, 'bad_request');
    }
  }
  return t;
}

function countCodePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export interface EmbedResult {
  /** L2-normalized, length dim. */
  embedding: Float32Array;
  /** True when the prompt had more tokens than the context holds and the rest was ignored. */
  truncated: boolean;
  /** Text tokens in the prompt (before truncation). */
  tokenCount: number;
  /** A sentence for the user when truncated. */
  note?: string;
}

export interface ClipTextEncoderOptions {
  /** Intra-op threads (default: onnxruntime's choice). */
  threads?: number;
  /** Default ['cpu']. */
  executionProviders?: string[];
  /** Prompts whose embedding is kept (default 256; 0 = none). */
  cacheSize?: number;
}

type IdsType = 'int64' | 'int32';

export class ClipTextEncoder {
  private readonly cache = new Map<string, Float32Array>();

  private constructor(
    private session: ort.InferenceSession | null,
    readonly tokenizer: ClipTokenizer,
    readonly dir: string,
    private readonly io: { ids: string; idsType: IdsType; mask: string | null; maskType: IdsType; output: string; batchDim: boolean },
    /** Tokens per prompt the model reads (77 for CLIP). */
    readonly contextLength: number,
    private readonly cacheSize: number,
    private _dim: number,
  ) {}

  /** Embedding width D. */
  get dim(): number {
    return this._dim;
  }

  /** Loads `dir`/text_model.onnx and the tokenizer files next to it; checks the model by running it once. */
  static async load(dir: string, opts: ClipTextEncoderOptions = {}): Promise<ClipTextEncoder> {
    if (!existsSync(dir)) throw new ClipError(`${dir}: CLIP directory not found`);
    if (!statSync(dir).isDirectory()) throw new ClipError(`${dir}: not a directory (expected a CLIP directory with ${CLIP_MODEL_FILE} and the tokenizer files)`);
    const modelPath = path.join(dir, CLIP_MODEL_FILE);
    if (!existsSync(modelPath)) throw new ClipError(`${dir}: ${CLIP_MODEL_FILE} not found; see tools/README.md to export it`);
    let tokenizer: ClipTokenizer;
    try {
      tokenizer = await ClipTokenizer.load(dir);
    } catch (e) {
      if (e instanceof ClipTokenizerError) throw new ClipError(e.message);
      throw e;
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelPath, {
        executionProviders: opts.executionProviders ?? ['cpu'],
        ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
        graphOptimizationLevel: 'all',
        // Failures come back as ClipErrors; keep onnxruntime's own error lines off stderr.
        logSeverityLevel: 4,
      });
    } catch (e) {
      throw new ClipError(`${modelPath}: onnxruntime cannot load it (${(e as Error).message})`);
    }
    try {
      const { io, contextLength } = describeModel(session, modelPath);
      const enc = new ClipTextEncoder(session, tokenizer, dir, io, contextLength, Math.max(0, opts.cacheSize ?? 256), 0);
      // One run fixes D and proves the model fits the contract.
      const probe = await enc.run(tokenizer.tokenize('', contextLength), modelPath);
      enc._dim = probe.length;
      return enc;
    } catch (e) {
      void session.release();
      throw e;
    }
  }

  /** L2-normalized embedding of a prompt (see embedWithInfo for truncation). */
  async embed(text: string): Promise<Float32Array> {
    return (await this.embedWithInfo(text)).embedding;
  }

  /** Embedding plus whether the prompt was cut to the context. Throws ClipError for an empty or too long prompt. */
  async embedWithInfo(text: string): Promise<EmbedResult> {
    const prompt = validatePrompt(text);
    const { ids, truncated, tokenCount } = this.tokenizer.tokenizeWithInfo(prompt, this.contextLength);
    if (tokenCount === 0) throw new ClipError('the text query is empty (nothing is left after cleaning it)', 'bad_request');
    const key = ids.join(',');
    let embedding = this.cache.get(key);
    if (embedding) {
      this.cache.delete(key);
      this.cache.set(key, embedding);
    } else {
      embedding = await this.run(ids, path.join(this.dir, CLIP_MODEL_FILE));
      if (this.cacheSize > 0) {
        this.cache.set(key, embedding);
        if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      }
    }
    const res: EmbedResult = { embedding: embedding.slice(), truncated, tokenCount };
    if (truncated) {
      res.note = `the prompt is ${tokenCount} tokens long; CLIP reads only the first ${this.contextLength - 2}, the rest was ignored`;
    }
    return res;
  }

  private async run(ids: Int32Array, modelPath: string): Promise<Float32Array> {
    const session = this.session;
    if (!session) throw new ClipError('the CLIP text encoder was disposed');
    const L = this.contextLength;
    const shape = this.io.batchDim ? [1, L] : [L];
    const tensorOf = (vals: Int32Array, type: IdsType): ort.Tensor =>
      type === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(vals, (v) => BigInt(v)), shape) : new ort.Tensor('int32', vals, shape);
    const feeds: Record<string, ort.Tensor> = { [this.io.ids]: tensorOf(ids, this.io.idsType) };
    const eot = ids.indexOf(this.tokenizer.endId);
    if (this.io.mask) feeds[this.io.mask] = tensorOf(Int32Array.from(ids, (_, i) => (i <= eot ? 1 : 0)), this.io.maskType);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run(feeds);
    } catch (e) {
      throw new ClipError(`${modelPath}: inference failed (${(e as Error).message})`);
    }
    try {
      const t = out[this.io.output];
      if (!t) throw new ClipError(`${modelPath}: output ${this.io.output} missing from the result`);
      const data = toFloat32(t, modelPath);
      const dims = t.dims;
      let vec: Float32Array;
      if (dims.length === 3 && dims[0] === 1 && dims[1] === L) {
        const D = dims[2]!;
        vec = data.slice(eot * D, (eot + 1) * D);
      } else if ((dims.length === 2 && dims[0] === 1) || dims.length === 1) {
        vec = data.slice();
      } else {
        throw new ClipError(`${modelPath}: output ${this.io.output} has shape [${dims.join(', ')}]; expected [1, D] (or per-token [1, ${L}, D])`);
      }
      if (vec.length === 0) throw new ClipError(`${modelPath}: output ${this.io.output} is empty`);
      return normalize(vec, modelPath);
    } finally {
      for (const v of Object.values(out)) v.dispose();
    }
  }

  dispose(): void {
    void this.session?.release();
    this.session = null;
  }
}

function describeModel(session: ort.InferenceSession, modelPath: string) {
  const inputs = session.inputMetadata;
  const outputs = session.outputMetadata;
  const isInt = (m: ort.InferenceSession.ValueMetadata): m is ort.InferenceSession.ValueMetadata & { isTensor: true; type: IdsType } =>
    m.isTensor && (m.type === 'int64' || m.type === 'int32');
  const masks = inputs.filter((m) => /mask/i.test(m.name));
  const idCandidates = inputs.filter((m) => !/mask/i.test(m.name));
  if (idCandidates.length !== 1 || masks.length > 1) {
    throw new ClipError(
      `${modelPath}: expected one token-id input (and optionally an attention mask), found inputs ${inputs.map((m) => m.name).join(', ') || '(none)'}`,
    );
  }
  const idsMeta = idCandidates[0]!;
  if (!isInt(idsMeta)) {
    throw new ClipError(`${modelPath}: input ${idsMeta.name} is ${idsMeta.isTensor ? idsMeta.type : 'not a tensor'}; token ids must be int64 or int32`);
  }
  const maskMeta = masks[0];
  if (maskMeta && !isInt(maskMeta)) throw new ClipError(`${modelPath}: input ${maskMeta.name} must be int64 or int32`);
  const shape = idsMeta.shape;
  let contextLength = CLIP_CONTEXT_LENGTH;
  let batchDim = true;
  if (shape.length === 2) {
    const [b, l] = shape;
    if (typeof b === 'number' && b !== 1 && b !== -1) throw new ClipError(`${modelPath}: input ${idsMeta.name} has batch size ${b}; expected 1`);
    if (typeof l === 'number' && l > 0) contextLength = l;
  } else if (shape.length === 1) {
    batchDim = false;
    const [l] = shape;
    if (typeof l === 'number' && l > 0) contextLength = l;
  } else if (shape.length !== 0) {
    throw new ClipError(`${modelPath}: input ${idsMeta.name} has shape [${shape.join(', ')}]; expected [1, ${CLIP_CONTEXT_LENGTH}]`);
  }
  if (contextLength < 2) throw new ClipError(`${modelPath}: input ${idsMeta.name} holds ${contextLength} tokens; at least 2 are needed`);
  if (outputs.length === 0) throw new ClipError(`${modelPath}: the model has no outputs`);
  const preferred = outputs.find((m) => /^(text_embeds|text_embedding|embedding|embeddings|text_features)$/i.test(m.name));
  const outMeta = preferred ?? outputs[0]!;
  if (outMeta.isTensor && outMeta.type !== 'float32' && outMeta.type !== 'float16') {
    throw new ClipError(`${modelPath}: output ${outMeta.name} is ${outMeta.type}; expected float32 or float16`);
  }
  return {
    io: {
      ids: idsMeta.name,
      idsType: idsMeta.type,
      mask: maskMeta?.name ?? null,
      maskType: (maskMeta && maskMeta.isTensor ? maskMeta.type : 'int64') as IdsType,
      output: outMeta.name,
      batchDim,
    },
    contextLength,
  };
}

function toFloat32(t: ort.Tensor, modelPath: string): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const d = t.data as unknown;
    if (d instanceof Uint16Array) return Float32Array.from(d, halfToFloat);
    return Float32Array.from(d as ArrayLike<number>);
  }
  throw new ClipError(`${modelPath}: the output is ${t.type}; expected float32 or float16`);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function normalize(v: Float32Array, modelPath: string): Float32Array {
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += v[i]! * v[i]!;
  const n = Math.sqrt(ss);
  if (!Number.isFinite(n) || n === 0) throw new ClipError(`${modelPath}: the embedding is ${n === 0 ? 'all zeros' : 'not finite'}; cannot normalize it`);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  return v;
}
