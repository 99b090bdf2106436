// CLIP's text tokenizer: byte-level BPE over lower-cased, cleaned text, as OpenAI's CLIP
// (clip/simple_tokenizer.py), open_clip and HuggingFace's CLIPTokenizer do it.
//
// Files (either layout, in the same directory):
//   original     bpe_simple_vocab_16e6.txt.gz   gzip'd merges file: line 0 is a header, then
//                one merge per line ("a b"); at most 49152 - 256 - 2 = 48894 are read. The
//                vocabulary is implied: the 256 byte symbols, the same 256 with "</w>", one
//                token per merge (the two halves joined), then <|startoftext|>, <|endoftext|>.
//   HuggingFace  vocab.json (token -> id) + merges.txt (same merge lines; a first line
//                starting with "#version" is a header).
// When both are present the original file is used.
//
// Encoding a string:
//   1. cleanup, approximating what ftfy.fix_text + html.unescape do upstream: NFC, curly
//      quotes straightened, fullwidth ASCII and Latin ligatures folded, control characters
//      dropped; HTML entities unescaped twice (numeric ones, and a short list of named ones:
//      NAMED_ENTITIES below; other names stay as they are); ftfy's mojibake repair is not done.
//   2. runs of whitespace become one space, ends trimmed, then lower case.
//   3. split with CLIP's pattern: the two special tokens, the contractions 's 't 're 've 'm
//      'll 'd, runs of letters, single digits, runs of other non-space characters.
//   4. each piece -> its UTF-8 bytes -> one printable symbol per byte (bytesToUnicode), the
//      last symbol gets "</w>", then the lowest-ranked adjacent pair is merged until no pair
//      is in the merges list. Typed special tokens stay special, as upstream.
// tokenize() adds the start and end tokens, truncates to the context (75 text tokens + the
// two, the end token kept last) and pads with 0, as clip.tokenize(truncate=True) does.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

export const CLIP_CONTEXT_LENGTH = 77;
export const START_TOKEN = '<|startoftext|>';
export const END_TOKEN = '<|endoftext|>';
export const ORIGINAL_MERGES_FILE = 'bpe_simple_vocab_16e6.txt.gz';
export const HF_VOCAB_FILE = 'vocab.json';
export const HF_MERGES_FILE = 'merges.txt';
/** Merges CLIP reads from its merges file (49152 - 256 bytes - 2 specials). */
export const MAX_MERGES = 49152 - 256 - 2;

const END_OF_WORD = '</w>';
const BPE_CACHE_LIMIT = 20000;

/** Error about the tokenizer files; the message names the file. */
export class ClipTokenizerError extends Error {
  override name = 'ClipTokenizerError';
}

/**
 * The reversible byte -> symbol table: printable Latin-1 bytes map to themselves, the other
 * 68 bytes to U+0100.. in byte order. Index = byte value. The vocabulary lists the symbols
 * in byteVocabOrder() (the printable ones first), which is what the ids follow.
 */
export function bytesToUnicode(): string[] {
  const table = new Array<string>(256);
  for (const b of byteVocabOrder()) table[b] = byteSymbol(b);
  return table;
}

function isPrintableByte(b: number): boolean {
  return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

let orderCache: { order: number[]; symbols: Map<number, string> } | null = null;
function byteTables(): { order: number[]; symbols: Map<number, string> } {
  if (orderCache) return orderCache;
  const order: number[] = [];
  const symbols = new Map<number, string>();
  for (let b = 0; b < 256; b++) if (isPrintableByte(b)) {
    order.push(b);
    symbols.set(b, String.fromCharCode(b));
  }
  let next = 256;
  for (let b = 0; b < 256; b++) if (!isPrintableByte(b)) {
    order.push(b);
    symbols.set(b, String.fromCharCode(next++));
  }
  orderCache = { order, symbols };
  return orderCache;
}
/** Byte values in vocabulary order (id i of the base vocabulary is byte byteVocabOrder()[i]). */
export function byteVocabOrder(): number[] {
  return byteTables().order.slice();
}
function byteSymbol(b: number): string {
  return byteTables().symbols.get(b)!;
}

// ---- text cleanup ----------------------------------------------------------------------

/** Named HTML entities unescaped (Python's html.unescape knows all of HTML5's; these are the common ones). */
export const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', copy: '©', reg: '®', trade: '™',
  hellip: '…', mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', laquo: '«',
  raquo: '»', deg: '°', times: '×', middot: '·', bull: '•', eacute: 'é', egrave: 'è', agrave: 'à',
  aacute: 'á', ccedil: 'ç', uuml: 'ü', ouml: 'ö', auml: 'ä', szlig: 'ß', ntilde: 'ñ', iacute: 'í', oacute: 'ó',
};

function unescapeHtml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[0-9]{1,8};?|#[xX][0-9a-fA-F]{1,7};?|[a-zA-Z][a-zA-Z0-9]{1,31};)/g, (m, body: string) => {
    if (body.startsWith('#')) {
      const hex = body[1] === 'x' || body[1] === 'X';
      const cp = parseInt(body.slice(hex ? 2 : 1).replace(';', ''), hex ? 16 : 10);
      if (!Number.isFinite(cp) || cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
      return String.fromCodePoint(cp);
    }
    const v = NAMED_ENTITIES[body.slice(0, -1)];
    return v ?? m;
  });
}

const LIGATURES: Record<string, string> = { 'ﬀ': 'ff', 'ﬁ': 'fi', 'ﬂ': 'fl', 'ﬃ': 'ffi', 'ﬄ': 'ffl', 'ﬅ': 'st', 'ﬆ': 'st', 'Ĳ': 'IJ', 'ĳ': 'ij', 'Ŀ': 'L·', 'ŀ': 'l·', 'ŉ': 'ʼn' };

function fixText(s: string): string {
  return s
    .normalize('NFC')
    .replace(/[\u2018\u2019\u201a\u201b]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f]/g, '"')
    .replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, ' ')
    .replace(/[\ufb00-\ufb06\u0132\u0133\u013f\u0140\u0149]/g, (c) => LIGATURES[c] ?? c)
    // C0/C1 controls other than whitespace, and the BOM / zero-width no-break space
    .replace(/[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f\ufeff]/g, '');
}

/** The text as the tokenizer sees it before splitting: cleaned, whitespace collapsed, lower case. */
export function cleanText(text: string): string {
  const fixed = unescapeHtml(unescapeHtml(fixText(text)));
  return fixed.replace(/\s+/gu, ' ').trim().toLowerCase();
}

/** CLIP's split pattern (upstream compiles it case-insensitively; the text is lower case by then). */
export const CLIP_SPLIT_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

/** The pieces BPE runs on, in order (after cleanText). */
export function splitText(cleaned: string): string[] {
  return cleaned.match(new RegExp(CLIP_SPLIT_PATTERN.source, CLIP_SPLIT_PATTERN.flags)) ?? [];
}

// ---- the tokenizer ----------------------------------------------------------------------

export type ClipTokenizerLayout = 'original' | 'huggingface';

export interface TokenizeResult {
  /** [contextLength] ids: start, text tokens, end, zeros. */
  ids: Int32Array;
  /** Text tokens (without start/end) before truncation. */
  tokenCount: number;
  /** True when text tokens were dropped to fit the context. */
  truncated: boolean;
}

export class ClipTokenizer {
  readonly startId: number;
  readonly endId: number;
  private readonly decoder: string[];
  private readonly byteOf = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();
  private readonly byteSymbols = bytesToUnicode();
  private readonly utf8 = new TextEncoder();

  private constructor(
    private readonly encoder: Map<string, number>,
    private readonly ranks: Map<string, number>,
    readonly layout: ClipTokenizerLayout,
    /** The files read, for messages. */
    readonly files: readonly string[],
  ) {
    const describe = files.join(' + ');
    const need = (tok: string): number => {
      const id = encoder.get(tok);
      if (id === undefined) throw new ClipTokenizerError(`${describe}: the vocabulary has no ${JSON.stringify(tok)} token`);
      return id;
    };
    this.startId = need(START_TOKEN);
    this.endId = need(END_TOKEN);
    this.decoder = [];
    for (const [tok, id] of encoder) this.decoder[id] = tok;
    for (let b = 0; b < 256; b++) {
      const sym = this.byteSymbols[b]!;
      this.byteOf.set(sym, b);
      need(sym);
      need(sym + END_OF_WORD);
    }
    for (const key of ranks.keys()) need(key.replace(' ', ''));
  }

  /** Number of tokens in the vocabulary (largest id + 1). */
  get vocabSize(): number {
    return this.decoder.length;
  }

  /** Reads the tokenizer files from `dir` (either layout, see the top of this file). */
  static async load(dir: string): Promise<ClipTokenizer> {
    const original = path.join(dir, ORIGINAL_MERGES_FILE);
    const vocabPath = path.join(dir, HF_VOCAB_FILE);
    const mergesPath = path.join(dir, HF_MERGES_FILE);
    if (existsSync(original)) return ClipTokenizer.fromOriginal(await readFile(original), original);
    if (existsSync(vocabPath) || existsSync(mergesPath)) {
      if (!existsSync(vocabPath)) throw new ClipTokenizerError(`${vocabPath}: not found (${HF_MERGES_FILE} is there; the HuggingFace layout needs both)`);
      if (!existsSync(mergesPath)) throw new ClipTokenizerError(`${mergesPath}: not found (${HF_VOCAB_FILE} is there; the HuggingFace layout needs both)`);
      const [v, m] = await Promise.all([readFile(vocabPath, 'utf8'), readFile(mergesPath, 'utf8')]);
      return ClipTokenizer.fromHuggingFace(v, m, vocabPath, mergesPath);
    }
    throw new ClipTokenizerError(
      `${dir}: no CLIP tokenizer files (expected ${ORIGINAL_MERGES_FILE}, or ${HF_VOCAB_FILE} + ${HF_MERGES_FILE}); see tools/README.md`,
    );
  }

  /** From the original gzip'd merges file (gunzipped already is accepted too). */
  static fromOriginal(data: Uint8Array, name = ORIGINAL_MERGES_FILE): ClipTokenizer {
    let text: string;
    try {
      const raw = data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch (e) {
      throw new ClipTokenizerError(`${name}: cannot read (${(e as Error).message})`);
    }
    // As upstream: the first line is a header, then at most MAX_MERGES merges.
    const lines = text.split('\n').slice(1, MAX_MERGES + 1);
    const merges = parseMerges(lines, name, 2);
    const vocab: string[] = [];
    for (const b of byteVocabOrder()) vocab.push(byteSymbol(b));
    for (const b of byteVocabOrder()) vocab.push(byteSymbol(b) + END_OF_WORD);
    for (const [a, c] of merges) vocab.push(a + c);
    vocab.push(START_TOKEN, END_TOKEN);
    const encoder = new Map<string, number>();
    // A repeated token keeps its last id, as upstream's dict(zip(vocab, range(...))) does.
    vocab.forEach((tok, id) => encoder.set(tok, id));
    return new ClipTokenizer(encoder, rankMap(merges), 'original', [name]);
  }

  /** From HuggingFace's vocab.json and merges.txt contents. */
  static fromHuggingFace(vocabJson: string, mergesTxt: string, vocabName = HF_VOCAB_FILE, mergesName = HF_MERGES_FILE): ClipTokenizer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(vocabJson);
    } catch (e) {
      throw new ClipTokenizerError(`${vocabName}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ClipTokenizerError(`${vocabName}: expected a JSON object mapping tokens to ids`);
    }
    const encoder = new Map<string, number>();
    const seen = new Map<number, string>();
    for (const [tok, id] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new ClipTokenizerError(`${vocabName}: the id of ${JSON.stringify(tok)} is ${JSON.stringify(id)}, not a non-negative integer`);
      }
      const other = seen.get(id);
      if (other !== undefined) throw new ClipTokenizerError(`${vocabName}: id ${id} is given to both ${JSON.stringify(other)} and ${JSON.stringify(tok)}`);
      seen.set(id, tok);
      encoder.set(tok, id);
    }
    const lines = mergesTxt.split('\n');
    const header = lines[0]?.startsWith('#version') ? 1 : 0;
    const merges = parseMerges(lines.slice(header, header + MAX_MERGES), mergesName, header + 1);
    return new ClipTokenizer(encoder, rankMap(merges), 'huggingface', [vocabName, mergesName]);
  }

  /** BPE of one piece (already mapped to byte symbols): its token strings. */
  private bpe(piece: string): string[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    let word: string[] = Array.from(piece);
    word.push(word.pop()! + END_OF_WORD);
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best]!;
      const second = word[best + 1]!;
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i + 1 < word.length && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]!);
          i += 1;
        }
      }
      word = merged;
    }
    if (this.cache.size >= BPE_CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, word);
    return word;
  }

  /** Token strings of `text` (no start/end tokens), e.g. ["a</w>", "photo</w>"]. */
  encodeTokens(text: string): string[] {
    const out: string[] = [];
    for (const piece of splitText(cleanText(text))) {
      if (piece === START_TOKEN || piece === END_TOKEN) {
        out.push(piece);
        continue;
      }
      let sym = '';
      for (const b of this.utf8.encode(piece)) sym += this.byteSymbols[b]!;
      for (const t of this.bpe(sym)) out.push(t);
    }
    return out;
  }

  /** Token ids of `text`, without the start/end tokens (as upstream's encode). */
  encode(text: string): number[] {
    return this.encodeTokens(text).map((t) => {
      const id = this.encoder.get(t);
      // Unreachable with a consistent vocabulary (checked at load): every merge result and
      // byte symbol has an id.
      if (id === undefined) throw new ClipTokenizerError(`${this.files.join(' + ')}: no id for token ${JSON.stringify(t)}`);
      return id;
    });
  }

  /** Id of a token string, or undefined. */
  tokenId(token: string): number | undefined {
    return this.encoder.get(token);
  }

  /** Token string of an id, or undefined. */
  token(id: number): string | undefined {
    return this.decoder[id];
  }

  /** Ids for the model: [start, ...text, end, 0...] of length contextLength, plus whether text was cut. */
  tokenizeWithInfo(text: string, contextLength = CLIP_CONTEXT_LENGTH): TokenizeResult {
    if (!Number.isInteger(contextLength) || contextLength < 2) throw new RangeError(`context length ${contextLength}: must be an integer >= 2`);
    const body = this.encode(text);
    const room = contextLength - 2;
    const kept = body.length > room ? body.slice(0, room) : body;
    const ids = new Int32Array(contextLength);
    ids[0] = this.startId;
    ids.set(kept, 1);
    ids[kept.length + 1] = this.endId;
    return { ids, tokenCount: body.length, truncated: body.length > room };
  }

  /** Ids for the model: start + text tokens + end, truncated keeping the end token, padded with 0. */
  tokenize(text: string, contextLength = CLIP_CONTEXT_LENGTH): Int32Array {
    return this.tokenizeWithInfo(text, contextLength).ids;
  }

  /**
   * Text of token ids: each "</w>" becomes a space (so pieces come out space-separated, as
   * upstream), start/end tokens are dropped, ids after the last end token (padding) are
   * ignored, and the end is trimmed. Invalid UTF-8 (a cut
   * multi-byte character) becomes U+FFFD. Throws RangeError on an id not in the vocabulary.
   */
  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    // What follows the last end token is tokenize()'s 0-padding, not text.
    let stop = ids.length;
    for (let k = ids.length - 1; k >= 0; k--) if (ids[k] === this.endId) {
      stop = k;
      break;
    }
    for (let k = 0; k < stop; k++) {
      const id = ids[k]!;
      const tok = this.decoder[id];
      if (tok === undefined) throw new RangeError(`token id ${id} is not in the vocabulary (${this.vocabSize} tokens)`);
      if (id === this.startId || id === this.endId) continue;
      const eow = tok.endsWith(END_OF_WORD);
      const body = eow ? tok.slice(0, -END_OF_WORD.length) : tok;
      for (const ch of body) {
        const b = this.byteOf.get(ch);
        if (b === undefined) for (const x of this.utf8.encode(ch)) bytes.push(x);
        else bytes.push(b);
      }
      if (eow) bytes.push(0x20);
    }
    return new TextDecoder('utf-8').decode(Uint8Array.from(bytes)).trimEnd();
  }
}

function parseMerges(lines: string[], file: string, firstLineNo: number): [string, string][] {
  const merges: [string, string][] = [];
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const parts = line.split(/\s+/).filter((p) => p !== '');
    if (parts.length !== 2) throw new ClipTokenizerError(`${file}: line ${firstLineNo + i}: expected two symbols separated by a space, got ${JSON.stringify(line.slice(0, 80))}`);
    merges.push([parts[0]!, parts[1]!]);
  });
  if (merges.length === 0) throw new ClipTokenizerError(`${file}: no merges found`);
  return merges;
}

function rankMap(merges: [string, string][]): Map<string, number> {
  const ranks = new Map<string, number>();
  // Upstream's dict(zip(merges, range)) keeps the last rank of a repeated merge.
  merges.forEach(([a, b], i) => ranks.set(`${a} ${b}`, i));
  return ranks;
}
