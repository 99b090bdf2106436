// The data dir's signing secret (DESIGN.md §3, §6): 32 random bytes, generated on first use and
// kept in `<dataDir>/secret.key` (hex, mode 0600). It signs share-link tokens; it never leaves
// the server: no API returns it, it is not logged, and `SigningSecret` hides it from
// console.log / JSON.stringify / util.inspect so it cannot end up in a log line by accident.
//
// Creation is atomic: the bytes are written and fsynced to a private temporary file, which is
// then hard-linked to `secret.key`. link(2) fails if the name exists, so when two processes start
// at once exactly one wins and the other reads the winner's file; nobody ever sees a partly
// written secret. (Filesystems without hard links fall back to an exclusive create, and readers
// then retry briefly on a short file.)
//
// To invalidate every link at once: stop the server and delete `secret.key`; a new one is made
// on the next start (the `serve` owner link is re-issued with it).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';

export const SECRET_FILE = 'secret.key';
const SECRET_BYTES = 32;

/** Holds the secret bytes out of sight; only `derive` gets at them. */
export class SigningSecret {
  readonly #key: Buffer;

  constructor(bytes: Uint8Array) {
    if (bytes.length < SECRET_BYTES) throw new Error(`a signing secret needs at least ${SECRET_BYTES} bytes, got ${bytes.length}`);
    this.#key = Buffer.from(bytes);
  }

  /** A fresh random secret (ephemeral servers and tests). */
  static random(): SigningSecret {
    return new SigningSecret(crypto.randomBytes(SECRET_BYTES));
  }

  /**
   * A 32-byte key for one purpose (HKDF-SHA256 with `purpose` as info), so that one stored
   * secret can key several independent uses without them ever sharing a key.
   */
  derive(purpose: string): Buffer {
    return Buffer.from(crypto.hkdfSync('sha256', this.#key, Buffer.alloc(0), `splatsync:${purpose}`, 32));
  }

  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return 'SigningSecret [redacted]';
  }
  [util.inspect.custom](): string {
    return 'SigningSecret [redacted]';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function parse(text: string): Buffer | null {
  const hex = text.trim();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length % 2 !== 0 || hex.length < SECRET_BYTES * 2) return null;
  return Buffer.from(hex, 'hex');
}

/** Reads an existing secret file; null when there is none. Retries a short read (a racing fallback writer). */
function readExisting(file: string): Buffer | null {
  for (let attempt = 0; ; attempt++) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new Error(`cannot read the signing secret ${file}: ${(err as Error).message}`);
    }
    const bytes = parse(text);
    if (bytes) {
      tightenMode(file);
      return bytes;
    }
    if (attempt >= 20) {
      throw new Error(
        `the signing secret ${file} is damaged (expected ${SECRET_BYTES * 2}+ hex digits). ` +
          'Delete it to make a new one; every existing share link then stops working.',
      );
    }
    sleepSync(50);
  }
}

/** The secret must be readable by its owner only; fix a looser mode (e.g. after a copy). */
function tightenMode(file: string): void {
  if (process.platform === 'win32') return;
  try {
    const st = fs.statSync(file);
    if ((st.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  } catch {
    // Not ours to fix (read-only mount): the secret still works.
  }
}

function writePrivate(file: string, text: string, flags: string): void {
  const fd = fs.openSync(file, flags, 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The data dir's signing secret, creating `<dataDir>/secret.key` on first use. Safe to call from
 * several processes at once: all of them get the same secret.
 */
export function loadOrCreateSecret(dataDir: string): SigningSecret {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, SECRET_FILE);
  const existing = readExisting(file);
  if (existing) return new SigningSecret(existing);

  const bytes = crypto.randomBytes(SECRET_BYTES);
  const text = `${bytes.toString('hex')}\n`;
  const tmp = path.join(dataDir, `.${SECRET_FILE}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  writePrivate(tmp, text, 'wx');
  try {
    fs.linkSync(tmp, file);
    fsyncDir(dataDir);
    return new SigningSecret(bytes);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      // Another process won the race: use its secret.
      const theirs = readExisting(file);
      if (theirs) return new SigningSecret(theirs);
      throw new Error(`the signing secret ${file} vanished while it was being created`);
    }
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      // No hard links here: exclusive create instead (readers retry on a short file).
      try {
        writePrivate(file, text, 'wx');
        return new SigningSecret(bytes);
      } catch (err2) {
        if ((err2 as NodeJS.ErrnoException).code !== 'EEXIST') throw err2;
        const theirs = readExisting(file);
        if (theirs) return new SigningSecret(theirs);
      }
    }
    throw new Error(`cannot create the signing secret ${file}: ${(err as Error).message}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Best effort: the file itself is already durable.
  }
}
