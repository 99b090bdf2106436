// Checks a CLIP directory against the reference the export script wrote
// (text_model.check.json: prompts with PyTorch's token ids and normalized embeddings), so a
// user can tell that Splatsync's tokenizer and onnxruntime reproduce the original model.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ClipError, type ClipTextEncoder } from './encoder';

export const CLIP_CHECK_FILE = 'text_model.check.json';

const CheckFile = z.object({
  contextLength: z.number().int().positive().optional(),
  dim: z.number().int().positive().optional(),
  prompts: z.array(z.object({ text: z.string(), ids: z.array(z.number().int()), embedding: z.array(z.number()) })).min(1),
});

export interface ClipCheckResult {
  text: string;
  /** Splatsync's ids (up to the end token) equal PyTorch's. */
  idsMatch: boolean;
  /** Cosine between Splatsync's embedding and PyTorch's. */
  cosine: number;
}

export interface ClipCheckReport {
  file: string;
  results: ClipCheckResult[];
  /** Every prompt's ids match and every cosine is at least minCosine. */
  ok: boolean;
}

/** Compares the encoder with `dir`/text_model.check.json; null when there is no such file. */
export async function verifyClipDir(encoder: ClipTextEncoder, opts: { minCosine?: number } = {}): Promise<ClipCheckReport | null> {
  const file = path.join(encoder.dir, CLIP_CHECK_FILE);
  if (!existsSync(file)) return null;
  let parsed: z.infer<typeof CheckFile>;
  try {
    parsed = CheckFile.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (e) {
    throw new ClipError(`${file}: not a valid check file (${e instanceof z.ZodError ? e.issues[0]?.message : (e as Error).message})`);
  }
  if (parsed.dim !== undefined && parsed.dim !== encoder.dim) throw new ClipError(`${file}: written for D = ${parsed.dim}, the model gives D = ${encoder.dim}`);
  const minCosine = opts.minCosine ?? 0.999;
  const results: ClipCheckResult[] = [];
  for (const p of parsed.prompts) {
    const ids = Array.from(encoder.tokenizer.tokenize(p.text, encoder.contextLength));
    const end = ids.lastIndexOf(encoder.tokenizer.endId);
    const ours = ids.slice(0, end + 1);
    const e = await encoder.embed(p.text);
    if (p.embedding.length !== e.length) throw new ClipError(`${file}: "${p.text}" has a ${p.embedding.length}-value embedding, the model gives ${e.length}`);
    let d = 0;
    let n = 0;
    for (let i = 0; i < e.length; i++) {
      d += e[i]! * p.embedding[i]!;
      n += p.embedding[i]! * p.embedding[i]!;
    }
    results.push({ text: p.text, idsMatch: ours.length === p.ids.length && ours.every((v, i) => v === p.ids[i]), cosine: d / Math.sqrt(n) });
  }
  return { file, results, ok: results.every((r) => r.idsMatch && r.cosine >= minCosine) };
}
