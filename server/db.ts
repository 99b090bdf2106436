// The data dir's SQLite file (`splatsync.db`, DESIGN.md §3): room op logs and snapshots, share
// links and grants. One connection per process; better-sqlite3 is synchronous, and a commit is a
// fraction of a millisecond (WAL, synchronous=FULL: measured 0.24 ms per one-row transaction on
// this VM), so the event loop never waits long. FULL rather than NORMAL because an acknowledged
// op must survive a power cut as well as a killed process.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** Schema migrations, in order; `PRAGMA user_version` records how many have run. */
const MIGRATIONS: string[] = [
  `CREATE TABLE room_ops (
     scene_id TEXT NOT NULL,
     room_id  TEXT NOT NULL,
     version  INTEGER NOT NULL,
     op_id    TEXT NOT NULL,
     op       TEXT NOT NULL,
     PRIMARY KEY (scene_id, room_id, version)
   ) WITHOUT ROWID;
   CREATE UNIQUE INDEX room_ops_op_id ON room_ops (scene_id, room_id, op_id);
   CREATE TABLE room_snapshots (
     scene_id TEXT NOT NULL,
     room_id  TEXT NOT NULL,
     version  INTEGER NOT NULL,
     state    TEXT NOT NULL,
     op_ids   TEXT NOT NULL DEFAULT '[]',
     PRIMARY KEY (scene_id, room_id)
   ) WITHOUT ROWID;`,
  `CREATE TABLE links (
     link_id    TEXT PRIMARY KEY,
     scene_id   TEXT NOT NULL,
     room_id    TEXT NOT NULL,
     role       TEXT NOT NULL,
     label      TEXT NOT NULL DEFAULT '',
     created_by TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     revoked_at INTEGER
   );
   CREATE INDEX links_scene ON links (scene_id, room_id);
   CREATE TABLE grants (
     user_id    TEXT NOT NULL,
     user_name  TEXT NOT NULL DEFAULT '',
     scene_id   TEXT NOT NULL,
     room_id    TEXT NOT NULL,
     role       TEXT NOT NULL,
     link_id    TEXT NOT NULL,
     granted_at INTEGER NOT NULL,
     PRIMARY KEY (user_id, scene_id, room_id)
   ) WITHOUT ROWID;`,
];

export const DB_FILE = 'splatsync.db';

/** Opens (creating and migrating as needed) the data dir's database; `:memory:` for tests. */
export function openDb(dataDirOrMemory: string): Db {
  let file = dataDirOrMemory;
  if (dataDirOrMemory !== ':memory:') {
    fs.mkdirSync(dataDirOrMemory, { recursive: true });
    file = path.join(dataDirOrMemory, DB_FILE);
  }
  let db: Db;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    throw new Error(`cannot open the database ${file}: ${(err as Error).message} (is it a Splatsync data dir? is the disk full?)`);
  }
  return db;
}

function migrate(db: Db): void {
  const have = db.pragma('user_version', { simple: true }) as number;
  if (have > MIGRATIONS.length) {
    throw new Error(`it was written by a newer Splatsync (schema ${have}, this one knows ${MIGRATIONS.length})`);
  }
  for (let i = have; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[i]!);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
}
