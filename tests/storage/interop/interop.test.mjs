// A SQLite database written by the original's provider (@signe/room/node
// createSqliteNodeRoomStorage over better-sqlite3) is read by signe::sqlite_storage with the same
// values, and the other way round. The C++ side runs as SIGNE_SQLITE_TOOL
// (tests/storage/sqlite_tool.cpp).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { createSqliteNodeRoomStorage } from '@signe/room/node';
import Database from 'better-sqlite3';

const tool = process.env.SIGNE_SQLITE_TOOL;
assert.ok(tool, 'SIGNE_SQLITE_TOOL must name the signe-sqlite-tool binary');

const dir = mkdtempSync(join(tmpdir(), 'signe-interop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cpp(args, input) {
  return execFileSync(tool, args, { input, encoding: 'utf8' });
}

// What a value is after JSON text and back (-0 becomes 0, as in the original's own reads).
const roundTrip = (value) => JSON.parse(JSON.stringify(value));
const binaryOrder = (a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]));

// Ordinary room data: written as the same text by JSON.stringify and by signe::to_text.
const entries = {
  'state:.': { count: 3, players: { Ab3dE9xZ: { name: 'Anon', x: 10.25, y: -4 } }, log: [] },
  'state:count': 5,
  'state:ratio': 0.1,
  'state:users.Ab3dE9xZ': { name: 'Ünïcødé 😀 "quoted"\n\ttab \\ / \u0001' },
  'state:users.Ab3dE9xZ.inv.0': 'sword',
  'state:flags': [true, false, null, 1, 'two', { three: [3] }],
  'state:empty': {},
  'state:big': 9007199254740991,
  'state:négatif': -0,
  'state:😀': 'above U+FFFF',
  'state:\uffff': 'at U+FFFF',
  'session:priv-1': { publicId: 'Ab3dE9xZ', created: 1700000000000, connected: false, disconnectedAt: 1700000001234 },
  'session-public:Ab3dE9xZ': ['priv-1'],
  'transfer:tok': { privateId: 'priv-1', publicId: 'Ab3dE9xZ', restored: true, created: 1700000000000 },
  '$room:session-gc:last-run': 1700000000000,
  Z: 'upper case sorts first',
  a: 'lower case',
};
// Numbers both sides read as the same value, though signe::to_text may spell them differently.
const numbers = {
  'num:tiny': 1e-7,
  'num:huge': 1e21,
  'num:wide': 123456789012345680000,
  'num:max': 1.7976931348623157e308,
  'num:min': 5e-324,
};

test('a database written by the original provider is read by sqlite_storage', async () => {
  const path = join(dir, 'from-node.sqlite');
  const database = new Database(path);
  const provider = createSqliteNodeRoomStorage({ database });
  const demo = await provider.getStorage('main', 'demo');
  await demo.put({ ...entries, ...numbers });
  await demo.put('state:count', 6);
  await (await provider.getStorage('main', 'other')).put('state:count', 'other room');
  await (await provider.getStorage('world', 'demo')).put('state:count', 'other namespace');
  database.close();

  const expected = Object.entries(roundTrip({ ...entries, ...numbers, 'state:count': 6 })).sort(binaryOrder);
  assert.deepEqual(JSON.parse(cpp(['list', path, 'main', 'demo'])), expected);
  assert.deepEqual(
    JSON.parse(cpp(['list', path, 'main', 'demo', 'state:'])),
    expected.filter(([key]) => key.startsWith('state:')),
  );
  for (const [key, value] of expected) {
    assert.deepEqual(JSON.parse(cpp(['get', path, 'main', 'demo', key])), value, key);
  }
  assert.deepEqual(JSON.parse(cpp(['get', path, 'main', 'other', 'state:count'])), 'other room');
  assert.deepEqual(JSON.parse(cpp(['get', path, 'world', 'demo', 'state:count'])), 'other namespace');
  assert.throws(() => cpp(['get', path, 'main', 'demo', 'missing']), (error) => error.status === 1);
});

test('a database written by sqlite_storage is read by the original provider', async () => {
  const path = join(dir, 'from-cpp.sqlite');
  cpp(['write', path, 'main', 'demo'], JSON.stringify({ ...entries, ...numbers }));
  cpp(['put', path, 'main', 'demo', 'state:count', '6']);
  cpp(['put', path, 'main', 'other', 'state:count', '"other room"']);

  const database = new Database(path);
  const provider = createSqliteNodeRoomStorage({ database });
  const demo = await provider.getStorage('main', 'demo');
  const expected = Object.entries(roundTrip({ ...entries, ...numbers, 'state:count': 6 })).sort(binaryOrder);
  assert.deepEqual([...(await demo.list()).entries()], expected);
  for (const [key, value] of expected) {
    assert.deepEqual(await demo.get(key), value, key);
  }
  assert.equal(await (await provider.getStorage('main', 'other')).get('state:count'), 'other room');

  // The same bytes as the original writes: JSON.stringify's text in the value column.
  const rows = database
    .prepare('SELECT key, value FROM signe_room_storage WHERE namespace = ? AND room_id = ?')
    .all('main', 'demo');
  const text = new Map(rows.map((row) => [row.key, row.value]));
  for (const [key, value] of Object.entries({ ...entries, 'state:count': 6 })) {
    assert.equal(text.get(key), JSON.stringify(value), key);
  }

  // The original's prefix range (key < prefix + "\uffff") misses keys that go on with U+FFFF or
  // a code point above it; ours covers them. Everything else under the prefix is the same.
  const theirs = [...(await demo.list({ prefix: 'state:' })).keys()];
  const ours = JSON.parse(cpp(['list', path, 'main', 'demo', 'state:'])).map(([key]) => key);
  const missedByTheOriginal = ['state:\uffff', 'state:😀'];
  assert.deepEqual(ours.filter((key) => !missedByTheOriginal.includes(key)), theirs);
  for (const key of missedByTheOriginal) {
    assert.ok(ours.includes(key) && !theirs.includes(key), key);
  }
  database.close();
});

test('both sides use one database at the same time', async () => {
  const path = join(dir, 'shared.sqlite');
  const database = new Database(path);
  const provider = createSqliteNodeRoomStorage({ database });
  const demo = await provider.getStorage('main', 'demo');
  await demo.put('state:count', 1);
  assert.equal(database.pragma('journal_mode', { simple: true }), 'wal');

  // The C++ writer commits while the Node connection stays open, and each sees the other's data.
  cpp(['put', path, 'main', 'demo', 'state:count', '2']);
  assert.equal(await demo.get('state:count'), 2);
  await demo.put('state:name', 'node');
  assert.deepEqual(JSON.parse(cpp(['list', path, 'main', 'demo'])), [['state:count', 2], ['state:name', 'node']]);
  assert.equal(await demo.delete('state:name'), true);
  assert.equal(cpp(['list', path, 'main', 'demo']).trim(), '[["state:count",2]]');
  database.close();
});
