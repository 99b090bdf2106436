// cfg_args of a 3DGS / Deformable-3DGS / DGD training run: the printed argparse Namespace,
// `Namespace(sh_degree=3, source_path='/x', white_background=False, ...)`.
//
// A small tokenizer and parser for the Python literals `repr` prints (str with either quote
// and escapes, int, float incl. inf / nan, True / False / None, list, tuple, dict, set, and
// calls like `device(type='cuda')`), then typed fields read by name: missing and unknown keys
// are fine (forks print different sets), a known key with the wrong type is an error.
import { ImportInputError } from './datasets/common';

/** Python value as parsed: lists and tuples become arrays, dicts objects, calls PyCall. */
export type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue } | PyCall;
export interface PyCall {
  $call: string;
  args: PyValue[];
  kwargs: { [key: string]: PyValue };
}

export interface CfgArgs {
  /** `is_blender`: D-NeRF data; Deformable-3DGS then uses a smaller time embedding. */
  isBlender?: boolean;
  /** `is_6dof`: the deformation network predicts SE(3) warps. */
  is6dof?: boolean;
  /** `semantic_dimension`: DGD's per-Gaussian feature width. */
  semanticDimension?: number;
  /** `sh_degree`. */
  shDegree?: number;
  /** `white_background`. */
  whiteBackground?: boolean;
  /** `source_path`: the dataset directory on the training machine. */
  sourcePath?: string;
  /** `model_path`: the output directory on the training machine. */
  modelPath?: string;
  /** Every key as printed. */
  raw: Record<string, unknown>;
}

export class CfgArgsError extends ImportInputError {
  constructor(fileName: string, problem: string) {
    super(fileName, problem);
    this.name = 'CfgArgsError';
  }
}

/** Parses the text of a cfg_args file; `fileName` only labels errors. */
export function parseCfgArgs(text: string, fileName: string): CfgArgs {
  const p = new Parser(text, fileName);
  const raw = p.namespace();
  const out: CfgArgs = { raw };
  const typed = <T>(key: string, check: (v: unknown) => v is T, expected: string): T | undefined => {
    if (!(key in raw)) return undefined;
    const v = raw[key];
    if (!check(v)) throw new CfgArgsError(fileName, `${key} is ${show(v)}, expected ${expected}`);
    return v;
  };
  const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
  const isStr = (v: unknown): v is string => typeof v === 'string';
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

  const set = <K extends keyof CfgArgs>(k: K, v: CfgArgs[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('isBlender', typed('is_blender', isBool, 'True or False'));
  set('is6dof', typed('is_6dof', isBool, 'True or False'));
  set('whiteBackground', typed('white_background', isBool, 'True or False'));
  set('semanticDimension', typed('semantic_dimension', isCount, 'a non-negative integer'));
  set('shDegree', typed('sh_degree', (v): v is number => isCount(v) && v <= 3, 'an integer 0..3'));
  set('sourcePath', typed('source_path', isStr, 'a string'));
  set('modelPath', typed('model_path', isStr, 'a string'));
  return out;
}

function show(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v) ?? String(v);
}

type Tok =
  | { t: 'str'; v: string; pos: number }
  | { t: 'num'; v: number; pos: number }
  | { t: 'name'; v: string; pos: number }
  | { t: 'punct'; v: string; pos: number }
  | { t: 'end'; pos: number };

const PUNCT = '()[]{},=:';
const ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' };

class Parser {
  private i = 0;
  private tok: Tok;

  constructor(
    private readonly src: string,
    private readonly fileName: string,
  ) {
    this.tok = this.lex();
  }

  /** `Namespace(key=value, ...)` and nothing else but whitespace. */
  namespace(): Record<string, unknown> {
    const first = this.tok;
    if (first.t !== 'name' || first.v !== 'Namespace') {
      this.fail(first.pos, `not a printed argparse Namespace: expected "Namespace(", found ${this.describe(first)}`);
    }
    this.next();
    this.expect('(');
    const out: Record<string, unknown> = {};
    while (!this.isPunct(')')) {
      const key = this.tok;
      if (key.t !== 'name') this.fail(key.pos, `expected an argument name, found ${this.describe(key)}`);
      this.next();
      this.expect('=');
      out[key.v] = this.value();
      if (!this.isPunct(')')) this.expect(',');
    }
    this.next();
    if (this.tok.t !== 'end') this.fail(this.tok.pos, `unexpected ${this.describe(this.tok)} after the closing ")" of Namespace(...)`);
    return out;
  }

  private value(): PyValue {
    const tok = this.tok;
    switch (tok.t) {
      case 'str': {
        let s = tok.v;
        this.next();
        while (this.tok.t === 'str') {
          s += this.tok.v; // adjacent literals concatenate, as in Python
          this.next();
        }
        return s;
      }
      case 'num':
        this.next();
        return tok.v;
      case 'name': {
        this.next();
        if (this.isPunct('(')) return this.call(tok.v);
        if (tok.v === 'True') return true;
        if (tok.v === 'False') return false;
        if (tok.v === 'None') return null;
        if (tok.v === 'inf') return Infinity;
        if (tok.v === 'nan') return NaN;
        return this.fail(tok.pos, `unknown name ${tok.v} (expected a literal: a string, number, True, False, None, list, tuple or dict)`);
      }
      case 'punct': {
        if (tok.v === '[') return this.sequence(']');
        if (tok.v === '(') return this.sequence(')');
        if (tok.v === '{') return this.braces();
        return this.fail(tok.pos, `expected a value, found ${this.describe(tok)}`);
      }
      case 'end':
        return this.fail(tok.pos, 'unexpected end of text: expected a value');
    }
  }

  private sequence(close: string): PyValue[] {
    this.next();
    const out: PyValue[] = [];
    while (!this.isPunct(close)) {
      out.push(this.value());
      if (!this.isPunct(close)) this.expect(',');
    }
    this.next();
    return out;
  }

  /** `{}` / `{k: v, ...}` (dict; keys stringified) or `{a, b}` (set, as an array). */
  private braces(): PyValue {
    this.next();
    if (this.isPunct('}')) {
      this.next();
      return {};
    }
    const first = this.value();
    if (!this.isPunct(':')) {
      const items: PyValue[] = [first];
      while (!this.isPunct('}')) {
        this.expect(',');
        if (this.isPunct('}')) break;
        items.push(this.value());
      }
      this.next();
      return items;
    }
    const out: { [key: string]: PyValue } = {};
    let key = first;
    for (;;) {
      this.expect(':');
      out[typeof key === 'string' ? key : show(key)] = this.value();
      if (this.isPunct('}')) break;
      this.expect(',');
      if (this.isPunct('}')) break;
      key = this.value();
    }
    this.next();
    return out;
  }

  /** `name(args, key=value)`: the current token is the "(". */
  private call(name: string): PyCall {
    this.next();
    const out: PyCall = { $call: name, args: [], kwargs: {} };
    while (!this.isPunct(')')) {
      const tok = this.tok;
      if (tok.t === 'name' && this.peekIsEquals()) {
        this.next();
        this.expect('=');
        out.kwargs[tok.v] = this.value();
      } else {
        out.args.push(this.value());
      }
      if (!this.isPunct(')')) this.expect(',');
    }
    this.next();
    return out;
  }

  private peekIsEquals(): boolean {
    let j = this.i;
    while (j < this.src.length && /\s/.test(this.src[j]!)) j++;
    return this.src[j] === '=' && this.src[j + 1] !== '=';
  }

  private isPunct(v: string): boolean {
    return this.tok.t === 'punct' && this.tok.v === v;
  }

  private expect(v: string): void {
    if (!this.isPunct(v)) this.fail(this.tok.pos, `expected "${v}", found ${this.describe(this.tok)}`);
    this.next();
  }

  private next(): void {
    this.tok = this.lex();
  }

  private describe(tok: Tok): string {
    switch (tok.t) {
      case 'end':
        return 'the end of the text';
      case 'str':
        return `the string ${JSON.stringify(tok.v)}`;
      case 'num':
        return `the number ${tok.v}`;
      default:
        return `"${tok.v}"`;
    }
  }

  private fail(pos: number, problem: string): never {
    const before = this.src.slice(0, pos);
    const line = before.split('\n').length;
    const col = pos - before.lastIndexOf('\n');
    throw new CfgArgsError(this.fileName, `line ${line}, column ${col}: ${problem}`);
  }

  private lex(): Tok {
    const s = this.src;
    while (this.i < s.length && /\s/.test(s[this.i]!)) this.i++;
    const pos = this.i;
    if (pos >= s.length) return { t: 'end', pos };
    const c = s[pos]!;
    if (PUNCT.includes(c)) {
      this.i++;
      return { t: 'punct', v: c, pos };
    }
    const prefixed = /^([rRbBuU]{1,2})(['"])/.exec(s.slice(pos, pos + 3));
    if (c === "'" || c === '"' || prefixed) {
      const prefix = prefixed ? prefixed[1]!.toLowerCase() : '';
      if (prefixed && !['r', 'b', 'u', 'rb', 'br'].includes(prefix)) this.fail(pos, `unknown string prefix ${prefixed[1]}`);
      this.i += prefix.length;
      return { t: 'str', v: this.string(pos, prefix.includes('r')), pos };
    }
    const num = /^[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d[\d_]*)?)/.exec(s.slice(pos));
    if (num) {
      this.i += num[0].length;
      if (/^[jJ]/.test(s.slice(this.i))) this.fail(pos, 'complex numbers are not supported');
      const text = num[0].replace(/_/g, '');
      const sign = text.startsWith('-') ? -1 : 1;
      const body = text.replace(/^[-+]/, '');
      const v = /^0[xXoObB]/.test(body) ? sign * Number(body.toLowerCase()) : Number(text);
      if (Number.isNaN(v)) this.fail(pos, `malformed number ${num[0]}`);
      return { t: 'num', v, pos };
    }
    const signedName = /^([-+])(inf|nan)\b/.exec(s.slice(pos));
    if (signedName) {
      this.i += signedName[0].length;
      return { t: 'num', v: signedName[2] === 'nan' ? NaN : signedName[1] === '-' ? -Infinity : Infinity, pos };
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(s.slice(pos));
    if (name) {
      this.i += name[0].length;
      return { t: 'name', v: name[0], pos };
    }
    return this.fail(pos, `unexpected character ${JSON.stringify(c)}`);
  }

  /** A quoted string starting at this.i (the opening quote); returns its value. */
  private string(start: number, raw: boolean): string {
    const s = this.src;
    const q = s[this.i]!;
    const triple = s.startsWith(q.repeat(3), this.i);
    const close = triple ? q.repeat(3) : q;
    this.i += close.length;
    let out = '';
    for (;;) {
      if (this.i >= s.length) this.fail(start, 'unterminated string');
      if (s.startsWith(close, this.i)) {
        this.i += close.length;
        return out;
      }
      const c = s[this.i]!;
      if (c === '\n' && !triple) this.fail(start, 'unterminated string (line break inside a quoted string)');
      if (c !== '\\') {
        out += c;
        this.i++;
        continue;
      }
      const e = s[this.i + 1];
      if (e === undefined) this.fail(start, 'unterminated string');
      if (raw) {
        out += c + e; // raw strings keep the backslash; \quote does not end them
        this.i += 2;
        continue;
      }
      this.i += 2;
      if (e in ESCAPES) out += ESCAPES[e];
      else if (e === '\n') continue; // line continuation
      else if (e === 'x' || e === 'u' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = s.slice(this.i, this.i + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail(this.i - 2, `malformed \\${e} escape: expected ${n} hex digits`);
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) this.fail(this.i - 2, `\\${e}${hex} is not a Unicode code point`);
        out += String.fromCodePoint(code);
        this.i += n;
      } else if (/[0-7]/.test(e)) {
        const oct = /^[0-7]{1,3}/.exec(s.slice(this.i - 1))![0];
        out += String.fromCodePoint(parseInt(oct, 8));
        this.i += oct.length - 1;
      } else if (e === 'N') {
        this.fail(this.i - 2, 'named Unicode escapes (\\N{...}) are not supported');
      } else {
        out += c + e; // Python keeps unknown escapes as written
      }
    }
  }
}
