// CLIP text queries: tokenizer known answers on hand-made and trained vocabularies (both file
// layouts), and the ONNX text encoder on toy models built in memory
// (tests/fixtures/clip/make-clip-fixtures.ts). No weights are downloaded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ClipTokenizer,
  ClipTokenizerError,
  bytesToUnicode,
  cleanText,
  splitText,
} from '../../server/semantic/clip/tokenizer';
import { ClipError, ClipTextEncoder, MAX_PROMPT_CHARS, resolveClipDir } from '../../server/semantic/clip/encoder';
import { checkTextQuery, embedTextQuery } from '../../server/semantic/clip/query';
import { CLIP_CHECK_FILE, verifyClipDir } from '../../server/semantic/clip/verify';
import {
  HAND_MERGES,
  buildToyTextModel,
  makeClipFixtureDir,
  toyReferenceEmbedding,
  trainBpe,
  TOY_CORPUS,
  writeTokenizerFiles,
  type ClipFixture,
} from '../fixtures/clip/make-clip-fixtures';

let tmp: string;
const sub = (name: string) => path.join(tmp, name);
before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'splatsync-clip-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));

// ---- byte table and splitting ----------------------------------------------------------

test('byte table: printable bytes map to themselves, the rest to U+0100.. in byte order', () => {
  const t = bytesToUnicode();
  assert.equal(t.length, 256);
  assert.equal(new Set(t).size, 256);
  assert.equal(t[0x21], '!');
  assert.equal(t[0x61], 'a');
  assert.equal(t[0xe9], 'é');
  assert.equal(t[0x00], '\u0100');
  assert.equal(t[0x0a], '\u010a'); // newline: 'Ċ'
  assert.equal(t[0x20], '\u0120'); // space: 'Ġ' (the 33rd non-printable)
  assert.equal(t[0x7f], '\u0121');
  assert.equal(t[0xad], '\u0143'); // soft hyphen, the last one
});

test('cleanup: whitespace collapse, case, NFC, quotes, HTML entities', () => {
  assert.equal(cleanText('  A\t\n PHOTO   of\u00a0the  CAT  '), 'a photo of the cat');
  assert.equal(cleanText('Cafe\u0301'), 'café'); // NFC: e + combining acute -> é
  assert.equal(cleanText('the cat\u2019s \u201ctoy\u201d'), 'the cat\'s "toy"');
  assert.equal(cleanText('salt &amp; pepper &lt;3 &#65;&#x42; &amp;amp; &bogus;'), 'salt & pepper <3 ab & &bogus;');
  assert.equal(cleanText('\uff21\uff22\uff23 \ufb01sh'), 'abc fish'); // fullwidth, ligature
  assert.equal(cleanText('a\u0000b\u200bc'), 'ab\u200bc'); // control dropped; zero-width space is not whitespace
});

test('split: contractions, letters, single digits, punctuation runs, unicode letters', () => {
  assert.deepEqual(splitText("it's the dog's ball, we'll see; don't!"), ['it', "'s", 'the', 'dog', "'s", 'ball', ',', 'we', "'ll", 'see', ';', 'don', "'t", '!']);
  assert.deepEqual(splitText("i'm you're they've he'd"), ['i', "'m", 'you', "'re", 'they', "'ve", 'he', "'d"]);
  assert.deepEqual(splitText('room 2024, pi=3.14'), ['room', '2', '0', '2', '4', ',', 'pi', '=', '3', '.', '1', '4']);
  assert.deepEqual(splitText('wow!!! (hi) x-y'), ['wow', '!!!', '(', 'hi', ')', 'x', '-', 'y']);
  assert.deepEqual(splitText('café naïve ωmega 東京タワー'), ['café', 'naïve', 'ωmega', '東京タワー']);
  assert.deepEqual(splitText('a<|endoftext|>b'), ['a', '<|endoftext|>', 'b']);
  assert.deepEqual(splitText("'really"), ["'re", 'ally']); // as upstream's pattern does
});

// ---- hand-made vocabulary: every id checked by hand --------------------------------------
// Vocabulary: ids 0..255 byte symbols in the order ! .. ~ (0..93), ¡ .. ¬ (94..105),
// ® .. ÿ (106..187), then the 68 others (188..255); 256..511 the same with </w>;
// 512 "lo</w>", 513 "he", 514 "llo</w>", 515 "hello</w>"; 516 start, 517 end.
const L = 'l'.charCodeAt(0) - 33; // 75

for (const layout of ['original', 'huggingface'] as const) {
  test(`hand vocabulary (${layout}): BPE merges by rank, </w> on the last symbol`, async () => {
    const dir = sub(`hand-${layout}`);
    writeTokenizerFiles(dir, HAND_MERGES, layout);
    const tok = await ClipTokenizer.load(dir);
    assert.equal(tok.layout, layout);
    assert.equal(tok.vocabSize, 518);
    assert.equal(tok.startId, 516);
    assert.equal(tok.endId, 517);
    // h e l l o</w> -> (l,o</w>) rank 0 -> (h,e) rank 1 -> (l,lo</w>) rank 2 -> (he,llo</w>) rank 3
    assert.deepEqual(tok.encodeTokens('hello'), ['hello</w>']);
    assert.deepEqual(tok.encode('hello'), [515]);
    // h e l l</w>: only (h,e) is a merge
    assert.deepEqual(tok.encodeTokens('hell'), ['he', 'l', 'l</w>']);
    assert.deepEqual(tok.encode('hell'), [513, L, 256 + L]);
    // "lo" alone: l o</w> -> lo</w>; "ol": o l</w> has no merge
    assert.deepEqual(tok.encode('lo ol'), [512, 'o'.charCodeAt(0) - 33, 256 + L]);
    // punctuation and case: ',' is byte 44 -> id 11, '!' id 0
    assert.deepEqual(tok.encode('Hello, HELLO!'), [515, 256 + 11, 515, 256 + 0]);
    // é = C3 A9: Ã (195 -> 106 + 21 = 127) then © (169 -> 94 + 8 = 102) with </w>
    assert.deepEqual(tok.encodeTokens('é'), ['Ã', '©</w>']);
    assert.deepEqual(tok.encode('é'), [127, 256 + 102]);
    // ā is C4 81: Ä (196 -> 106 + 22 = 128), then byte 0x81, the 36th non-printable
    // (after 0..32, 127, 128): symbol U+0100 + 35, id 188 + 35, with </w> 256 + 223
    const ids = tok.encode('ā');
    assert.equal(ids[0], 128);
    assert.equal(tok.token(ids[1]!), '\u0123</w>');
    assert.equal(ids[1], 256 + 188 + 35);
    // start / end / padding
    assert.deepEqual(Array.from(tok.tokenize('hello hell', 8)), [516, 515, 513, L, 256 + L, 517, 0, 0]);
    assert.equal(tok.decode(tok.tokenize('hello hell')), 'hello hell');
  });
}

// ---- trained vocabulary -----------------------------------------------------------------

let original: ClipTokenizer;
let hf: ClipTokenizer;
test('trained vocabulary: a few hundred merges, both layouts load', async () => {
  const merges = trainBpe(TOY_CORPUS, 300);
  assert.ok(merges.length >= 200, `${merges.length} merges`);
  writeTokenizerFiles(sub('trained-original'), merges, 'original');
  writeTokenizerFiles(sub('trained-hf'), merges, 'huggingface');
  original = await ClipTokenizer.load(sub('trained-original'));
  hf = await ClipTokenizer.load(sub('trained-hf'));
  assert.equal(original.vocabSize, 512 + merges.length + 2);
  assert.equal(hf.vocabSize, original.vocabSize);
  assert.equal(hf.endId, original.endId);
});

const PROMPTS = [
  'A photo of a red chair in the room.',
  "it's the cat's toy, we'll see; don't!",
  'room 2024, pi = 3.14',
  'Café naïve Ωmega 東京タワー zebra',
  '  lots\tof \n\n   WHITESPACE   ',
  '&lt;b&gt; &amp; emoji 🙂👍🏽',
  'unknownword xylophone qqq',
];

test('trained vocabulary: both layouts give identical ids', () => {
  for (const p of PROMPTS) {
    assert.deepEqual(hf.encode(p), original.encode(p), p);
    assert.deepEqual(hf.tokenize(p), original.tokenize(p), p);
  }
});

test('trained vocabulary: known answers', () => {
  const t = original;
  assert.deepEqual(t.encodeTokens('A photo of a red chair in the room.'), ['a</w>', 'photo</w>', 'of</w>', 'a</w>', 'red</w>', 'chair</w>', 'in</w>', 'the</w>', 'room</w>', '.</w>']);
  assert.deepEqual(t.encodeTokens("it's the cat's toy"), ['it</w>', "'s</w>", 'the</w>', 'cat</w>', "'s</w>", 'toy</w>']);
  assert.deepEqual(t.encodeTokens("don't"), ['don</w>', "'t</w>"]);
  // digits are one piece each
  assert.deepEqual(t.encodeTokens('2024'), ['2</w>', '0</w>', '2</w>', '4</w>']);
  // case and whitespace do not matter
  assert.deepEqual(t.encode('  A\tPHOTO   Of  '), t.encode('a photo of'));
  // the same letters inside a word and at its end are different tokens
  const a = t.tokenId('a');
  const aEnd = t.tokenId('a</w>');
  assert.ok(a !== undefined && aEnd !== undefined && a !== aEnd);
  assert.equal(t.encode('a')[0], aEnd);
  // a word the corpus never saw is split into pieces, the last one ending in </w>
  const z = t.encodeTokens('zebra');
  assert.ok(z.length > 1, JSON.stringify(z));
  assert.equal(z.join('').replace('</w>', ''), 'zebra');
  assert.ok(z[z.length - 1]!.endsWith('</w>') && z.slice(0, -1).every((s) => !s.endsWith('</w>')));
  // unicode letters stay one piece, as UTF-8 byte symbols
  const bytes = Array.from(new TextEncoder().encode('ωmega'), (b) => bytesToUnicode()[b]!).join('');
  assert.equal(t.encodeTokens('ΩMEGA').join('').replace('</w>', ''), bytes);
  // a typed special token is the special id
  assert.deepEqual(t.encode('<|startoftext|>'), [t.startId]);
});

test('tokenize: start + tokens + end, 0-padding, 77 by default, truncation keeps the end token', () => {
  const t = original;
  const ids = t.tokenize('a photo');
  assert.equal(ids.length, 77);
  assert.deepEqual(Array.from(ids.slice(0, 4)), [t.startId, t.tokenId('a</w>'), t.tokenId('photo</w>'), t.endId]);
  assert.ok(ids.slice(4).every((v) => v === 0));
  assert.deepEqual(t.tokenizeWithInfo('a photo'), { ids, tokenCount: 2, truncated: false });

  const photo = t.tokenId('photo</w>')!;
  const exact = t.tokenizeWithInfo('photo '.repeat(75));
  assert.equal(exact.truncated, false);
  assert.equal(exact.ids[76], t.endId);
  const over = t.tokenizeWithInfo('photo '.repeat(76));
  assert.equal(over.truncated, true);
  assert.equal(over.tokenCount, 76);
  const long = t.tokenizeWithInfo('photo '.repeat(200));
  assert.equal(long.ids.length, 77);
  assert.equal(long.ids[0], t.startId);
  assert.ok(long.ids.slice(1, 76).every((v) => v === photo));
  assert.equal(long.ids[76], t.endId);
  assert.deepEqual(long.ids, over.ids);
  assert.throws(() => t.tokenize('a', 1), RangeError);
});

test('decode: round trip of the cleaned text, pieces space-separated', () => {
  const t = original;
  assert.equal(t.decode(t.encode('A photo of a red chair.')), 'a photo of a red chair .');
  assert.equal(t.decode(t.encode("the cat's toy")), "the cat 's toy");
  assert.equal(t.decode(t.tokenize('Café naïve Ωmega 東京タワー 🙂 zebra')), 'café naïve ωmega 東京タワー 🙂 zebra');
  for (const p of PROMPTS) assert.equal(t.decode(t.tokenize(p)), splitText(cleanText(p)).join(' '), p);
  assert.throws(() => t.decode([999999]), /999999 is not in the vocabulary/);
});

// ---- tokenizer file errors -----------------------------------------------------------------

test('tokenizer files: clear errors naming the file', async () => {
  const empty = sub('no-tokenizer');
  mkdirSync(empty);
  await assert.rejects(ClipTokenizer.load(empty), (e: Error) => e instanceof ClipTokenizerError && e.message.includes(empty) && /bpe_simple_vocab_16e6\.txt\.gz/.test(e.message) && /vocab\.json/.test(e.message));

  const onlyMerges = sub('only-merges');
  writeTokenizerFiles(onlyMerges, HAND_MERGES, 'huggingface');
  unlinkSync(path.join(onlyMerges, 'vocab.json'));
  await assert.rejects(ClipTokenizer.load(onlyMerges), new RegExp(`${path.join(onlyMerges, 'vocab.json')}: not found`.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));

  const badGz = sub('bad-gz');
  mkdirSync(badGz);
  writeFileSync(path.join(badGz, 'bpe_simple_vocab_16e6.txt.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  await assert.rejects(ClipTokenizer.load(badGz), /bpe_simple_vocab_16e6\.txt\.gz: cannot read/);

  const badLine = sub('bad-line');
  writeTokenizerFiles(badLine, HAND_MERGES, 'huggingface');
  writeFileSync(path.join(badLine, 'merges.txt'), '#version: 0.2\nl o</w>\nh e x\n');
  await assert.rejects(ClipTokenizer.load(badLine), /merges\.txt: line 3: expected two symbols/);

  const missingTok = sub('missing-token');
  writeTokenizerFiles(missingTok, HAND_MERGES, 'huggingface');
  writeFileSync(path.join(missingTok, 'merges.txt'), '#version: 0.2\nl o</w>\nq q\n');
  await assert.rejects(ClipTokenizer.load(missingTok), /vocab\.json \+ .*merges\.txt: the vocabulary has no "qq" token/);

  const badJson = sub('bad-json');
  writeTokenizerFiles(badJson, HAND_MERGES, 'huggingface');
  writeFileSync(path.join(badJson, 'vocab.json'), '{"a": 0,');
  await assert.rejects(ClipTokenizer.load(badJson), /vocab\.json: not valid JSON/);
});

// ---- encoder ---------------------------------------------------------------------------------

let fx: ClipFixture;
let enc: ClipTextEncoder;
test('encoder: loads the toy model, D from the model, 77-token int64 input', async () => {
  fx = makeClipFixtureDir(sub('enc-pooled'), { layout: 'original', variant: 'pooled' });
  enc = await ClipTextEncoder.load(fx.dir);
  assert.equal(enc.dim, 32);
  assert.equal(enc.contextLength, 77);
});

test('encoder: unit length, deterministic, matches the toy model computed in JS', async () => {
  for (const p of ['a red chair', 'the ocean with blue waves', 'Café 🙂 zebra']) {
    const e = await enc.embed(p);
    assert.equal(e.length, 32);
    assert.ok(Math.abs(norm(e) - 1) < 1e-5);
    assert.deepEqual(await enc.embed(p), e);
    const ref = toyReferenceEmbedding(fx.weights, enc.tokenizer.tokenize(p));
    assert.ok(dot(e, ref) > 1 - 1e-5, `${p}: cos with reference ${dot(e, ref)}`);
  }
  const again = await ClipTextEncoder.load(fx.dir, { cacheSize: 0 });
  assert.deepEqual(await again.embed('a red chair'), await enc.embed('a red chair'));
  again.dispose();
  // cleanup applies: case and whitespace give the same embedding
  assert.deepEqual(await enc.embed('  A   RED\tChair '), await enc.embed('a red chair'));
});

test('encoder: similar prompts are closer than unrelated ones', async () => {
  const a = await enc.embed('a red chair in the room');
  const b = await enc.embed('the red chair in a room');
  const c = await enc.embed('a blue chair in the kitchen');
  const d = await enc.embed('mountains, rivers and forests at sunset');
  assert.ok(dot(a, b) > dot(a, c), `${dot(a, b)} vs ${dot(a, c)}`);
  assert.ok(dot(a, c) > dot(a, d), `${dot(a, c)} vs ${dot(a, d)}`);
});

test('encoder: per-token int32 output (row at the end token) and an attention-mask input give the same embedding', async () => {
  const perTok = sub('enc-per-token');
  makeClipFixtureDir(perTok, { layout: 'huggingface', variant: 'per-token' });
  const withMask = sub('enc-mask');
  makeClipFixtureDir(withMask, { layout: 'original', variant: 'with-mask' });
  const e2 = await ClipTextEncoder.load(perTok);
  const e3 = await ClipTextEncoder.load(withMask);
  assert.equal(e2.dim, 32);
  assert.equal(e3.dim, 32);
  for (const p of ['a red chair', "it's the dog's ball!"]) {
    const ref = await enc.embed(p);
    assert.ok(dot(await e2.embed(p), ref) > 1 - 1e-5);
    assert.ok(dot(await e3.embed(p), ref) > 1 - 1e-5);
  }
  e2.dispose();
  e3.dispose();
});

test('encoder: a long prompt is truncated to 77 tokens with a note', async () => {
  const long = await enc.embedWithInfo('photo '.repeat(100));
  assert.equal(long.truncated, true);
  assert.equal(long.tokenCount, 100);
  assert.match(long.note ?? '', /100 tokens.*first 75/);
  const cut = await enc.embedWithInfo('photo '.repeat(75));
  assert.equal(cut.truncated, false);
  assert.equal(cut.note, undefined);
  assert.deepEqual(long.embedding, cut.embedding);
});

test('encoder: empty and too long prompts are rejected with clear messages', async () => {
  for (const p of ['', '   ', '\n\t ']) {
    await assert.rejects(enc.embed(p), (e: Error) => e instanceof ClipError && e.code === 'bad_request' && e.message === 'the text query is empty');
  }
  await assert.rejects(enc.embed('x'.repeat(10_000)), (e: Error) => e instanceof ClipError && e.code === 'bad_request' && e.message.includes('10000 characters') && e.message.includes(`limit is ${MAX_PROMPT_CHARS}`));
  await assert.rejects(enc.embed('🙂'.repeat(1001)), /too long: 1001 characters/);
  const ok = await enc.embedWithInfo('ab'.repeat(500)); // exactly 1000 characters: accepted
  assert.equal(ok.embedding.length, 32);
  await assert.rejects(enc.embed('&nbsp;'), /the text query is empty/);
});

test('encoder: missing files and bad models give errors naming the file', async () => {
  const nowhere = sub('does-not-exist');
  await assert.rejects(ClipTextEncoder.load(nowhere), new RegExp(`${escapeRe(nowhere)}: CLIP directory not found`));

  const noModel = sub('no-model');
  makeClipFixtureDir(noModel, { variant: null });
  await assert.rejects(ClipTextEncoder.load(noModel), (e: Error) => e instanceof ClipError && e.message === `${noModel}: text_model.onnx not found; see tools/README.md to export it`);

  const noTok = sub('no-tok');
  mkdirSync(noTok);
  writeFileSync(path.join(noTok, 'text_model.onnx'), buildToyTextModel(fx.weights));
  await assert.rejects(ClipTextEncoder.load(noTok), (e: Error) => e instanceof ClipError && e.message.includes(noTok) && e.message.includes('no CLIP tokenizer files'));

  const garbage = sub('garbage-model');
  writeTokenizerFiles(garbage, fx.merges, 'original');
  writeFileSync(path.join(garbage, 'text_model.onnx'), Buffer.from('not a model'));
  await assert.rejects(ClipTextEncoder.load(garbage), new RegExp(`${escapeRe(path.join(garbage, 'text_model.onnx'))}: onnxruntime cannot load it`));

  // a model whose embedding table is smaller than the vocabulary: ids out of range
  const small = sub('small-table');
  writeTokenizerFiles(small, fx.merges, 'original');
  const w = { ...fx.weights, vocabSize: 100, table: fx.weights.table.slice(0, 100 * fx.weights.embedDim) };
  writeFileSync(path.join(small, 'text_model.onnx'), buildToyTextModel(w));
  await assert.rejects(ClipTextEncoder.load(small), /text_model\.onnx: inference failed/);
});

test('resolveClipDir: flag, else SPLATSYNC_CLIP_DIR, else null', () => {
  assert.equal(resolveClipDir('/x/clip', { SPLATSYNC_CLIP_DIR: '/y' }), path.resolve('/x/clip'));
  assert.equal(resolveClipDir(undefined, { SPLATSYNC_CLIP_DIR: '/y' }), path.resolve('/y'));
  assert.equal(resolveClipDir('', { SPLATSYNC_CLIP_DIR: '' }), null);
  assert.equal(resolveClipDir(undefined, {}), null);
});

test('text query on a scene: no features, no encoder, non-CLIP features each get a clear error', async () => {
  assert.throws(() => checkTextQuery(enc, 0), (e: Error) => e instanceof ClipError && e.code === 'unavailable' && /no semantic features/.test(e.message));
  assert.throws(() => checkTextQuery(null, 32), /need a CLIP text encoder.*--clip DIR.*SPLATSYNC_CLIP_DIR/);
  assert.throws(() => checkTextQuery(enc, 384), /D = 384, the encoder gives D = 32/);
  const r = await embedTextQuery(enc, 32, 'a red chair');
  assert.deepEqual(r.embedding, await enc.embed('a red chair'));
  await assert.rejects(embedTextQuery(enc, 32, ' '), /the text query is empty/);
});

test('verifyClipDir: compares with the export script\'s reference prompts', async () => {
  assert.equal(await verifyClipDir(enc), null);
  const prompts = ['a photo of a cat', "it's the dog's ball!", 'A  RED   chair, 2 lamps & 3 plants'].map((text) => {
    const ids = Array.from(enc.tokenizer.tokenize(text));
    return { text, ids: ids.slice(0, ids.indexOf(enc.tokenizer.endId) + 1), embedding: Array.from(toyReferenceEmbedding(fx.weights, ids)) };
  });
  const file = path.join(fx.dir, CLIP_CHECK_FILE);
  writeFileSync(file, JSON.stringify({ contextLength: 77, dim: 32, prompts }));
  const good = await verifyClipDir(enc);
  assert.ok(good?.ok);
  assert.ok(good.results.every((r) => r.idsMatch && r.cosine > 0.99999));
  prompts[1]!.ids[2] = 5;
  writeFileSync(file, JSON.stringify({ prompts }));
  const bad = await verifyClipDir(enc);
  assert.equal(bad?.ok, false);
  assert.deepEqual(bad.results.map((r) => r.idsMatch), [true, false, true]);
  writeFileSync(file, JSON.stringify({ prompts: [] }));
  await assert.rejects(verifyClipDir(enc), /text_model\.check\.json: not a valid check file/);
  unlinkSync(file);
});

after(() => enc?.dispose());

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
