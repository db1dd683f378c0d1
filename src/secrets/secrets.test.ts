import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { openTestStores, ownStateDatabase, tempDir, uniqueSlug } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { listAudit } from '../access/audit.ts';
import { generateMasterKey, open, parseMasterKey, seal, SecretIntegrityError } from './crypto.ts';
import { keyFilePath, loadKeyring } from './keyring.ts';
import { deleteSecret, listSecrets, readSecret, redactSecretValues, removeSecret, rotateSecretKey, secretHint, secretKeyring, setSecret, writeSecret } from './secrets.ts';

let stores: Stores;
let dataDir: string;
let wsA: string;
let wsB: string;
// Rotation re-seals every secret of the state store: on a PostgreSQL server, this suite's own database.
let database: Awaited<ReturnType<typeof ownStateDatabase>>;

before(async () => {
  dataDir = tempDir();
  database = await ownStateDatabase();
  ({ stores } = await openTestStores(dataDir, database.env));
  const workspaces = new WorkspaceService(stores.state);
  wsA = (await workspaces.create({ slug: uniqueSlug('sec-a'), name: 'A', timeZone: 'Asia/Shanghai' })).id;
  wsB = (await workspaces.create({ slug: uniqueSlug('sec-b'), name: 'B', timeZone: 'Asia/Shanghai' })).id;
});
after(async () => {
  await stores.close();
  await database.drop();
});

test('crypto: a value sealed for a workspace and name opens to itself; every seal has its own IV', () => {
  const key = generateMasterKey();
  const a = seal(key, 'ws1', 'wecom_corp_secret', 'corp-secret-值-1234');
  const b = seal(key, 'ws1', 'wecom_corp_secret', 'corp-secret-值-1234');
  assert.notEqual(a.iv, b.iv);
  assert.notEqual(a.ciphertext, b.ciphertext);
  assert.equal(Buffer.from(a.iv, 'base64').length, 12);
  assert.equal(open(key, 'ws1', 'wecom_corp_secret', a), 'corp-secret-值-1234');
  assert.equal(a.keyId, key.id);
});

test('crypto: a flipped byte, another workspace or another name is refused', () => {
  const key = generateMasterKey();
  const sealed = seal(key, 'ws1', 'sms_key', 'abcdefghijklmnop');
  const body = Buffer.from(sealed.ciphertext, 'base64');
  for (let i = 0; i < body.length; i++) {
    const flipped = Buffer.from(body);
    flipped[i] ^= 0x01;
    assert.throws(() => open(key, 'ws1', 'sms_key', { ...sealed, ciphertext: flipped.toString('base64') }), SecretIntegrityError);
  }
  const iv = Buffer.from(sealed.iv, 'base64');
  iv[0] ^= 0x80;
  assert.throws(() => open(key, 'ws1', 'sms_key', { ...sealed, iv: iv.toString('base64') }), SecretIntegrityError);
  assert.throws(() => open(key, 'ws2', 'sms_key', sealed), SecretIntegrityError);
  assert.throws(() => open(key, 'ws1', 'sms_key2', sealed), SecretIntegrityError);
  // The separator keeps ("ws1", "x") and ("ws1\0x"…) apart: no name contains NUL, and the split is unambiguous.
  assert.throws(() => open(generateMasterKey(), 'ws1', 'sms_key', { ...sealed, keyId: 'other' }));
});

test('master keys are read as hex or base64 of 32 bytes, anything else names its source', () => {
  const bytes = crypto.randomBytes(32);
  assert.equal(parseMasterKey(bytes.toString('hex'), 'X').id, parseMasterKey(bytes.toString('base64'), 'X').id);
  assert.equal(parseMasterKey(bytes.toString('base64url'), 'X').id, parseMasterKey(bytes.toString('base64'), 'X').id);
  assert.throws(() => parseMasterKey('too-short', 'SIYU_SECRET_KEY'), /SIYU_SECRET_KEY must be 32 bytes/);
  assert.throws(() => parseMasterKey(crypto.randomBytes(16).toString('base64'), 'SIYU_SECRET_KEY'), /SIYU_SECRET_KEY/);
});

test('the generated key file is mode 0600 in a directory closed to others', { skip: process.platform === 'win32' }, () => {
  const dir = path.join(tempDir(), 'data');
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  assert.equal(loadKeyring({ dataDir: dir, env: {} }), undefined, 'nothing is generated unless asked');
  const keyring = loadKeyring({ dataDir: dir, env: {}, create: true })!;
  assert.equal(fs.statSync(keyFilePath(dir)).mode & 0o777, 0o600);
  assert.equal(fs.statSync(dir).mode & 0o077, 0);
  // Loaded again: the same key (a second process does not replace it).
  assert.equal(loadKeyring({ dataDir: dir, env: {}, create: true })!.current.id, keyring.current.id);
});

test('SIYU_SECRET_KEY takes the place of the key file; SIYU_SECRET_KEY_PREVIOUS and the file keys still open', () => {
  const dir = tempDir();
  const fromFile = loadKeyring({ dataDir: dir, env: {}, create: true })!;
  const current = crypto.randomBytes(32).toString('base64');
  const previous = crypto.randomBytes(32).toString('hex');
  const keyring = loadKeyring({ dataDir: dir, env: { SIYU_SECRET_KEY: current, SIYU_SECRET_KEY_PREVIOUS: previous } })!;
  assert.equal(keyring.current.id, parseMasterKey(current, 'x').id);
  assert.ok(keyring.keys.has(parseMasterKey(previous, 'x').id));
  assert.ok(keyring.keys.has(fromFile.current.id));
  assert.equal(keyring.file, undefined);
  assert.throws(() => loadKeyring({ dataDir: dir, env: { SIYU_SECRET_KEY: 'nope' } }), /SIYU_SECRET_KEY must be/);
});

test('secrets round-trip through the state store, sealed at rest; listings show a hint only', async () => {
  const value = 'wecom-corp-secret-9f8e7d6c5b4a1234';
  const { hint } = await writeSecret(stores, wsA, 'wecom_corp_secret', value);
  assert.equal(hint, '••••1234');
  assert.equal(await readSecret(stores, wsA, 'wecom_corp_secret'), value);
  assert.equal(await readSecret(stores, wsB, 'wecom_corp_secret'), undefined, 'another workspace does not see it');
  const row = await stores.state.db.selectFrom('secrets').selectAll().where('workspace_id', '=', wsA).where('name', '=', 'wecom_corp_secret').executeTakeFirstOrThrow();
  assert.ok(!JSON.stringify(row).includes(value) && !JSON.stringify(row).includes('9f8e7d6c5b4a'), 'the value is not stored in clear');
  const listed = await listSecrets(stores, wsA);
  assert.deepEqual(
    listed.map((s) => [s.name, s.hint]),
    [['wecom_corp_secret', '••••1234']],
  );
  assert.ok(!JSON.stringify(listed).includes(value));
  assert.equal(secretHint('short'), '••••', 'a short value shows nothing of itself');
  assert.equal(await deleteSecret(stores, wsA, 'wecom_corp_secret'), true);
  assert.equal(await readSecret(stores, wsA, 'wecom_corp_secret'), undefined);
  assert.equal(await deleteSecret(stores, wsA, 'wecom_corp_secret'), false);
});

test('a ciphertext copied into another workspace, or tampered with in the store, is refused', async () => {
  await writeSecret(stores, wsA, 'sms_access_key', 'sms-access-key-secret-value');
  const row = await stores.state.db.selectFrom('secrets').selectAll().where('workspace_id', '=', wsA).where('name', '=', 'sms_access_key').executeTakeFirstOrThrow();
  await stores.state.db
    .insertInto('secrets')
    .values({ ...row, workspace_id: wsB })
    .execute();
  await assert.rejects(readSecret(stores, wsB, 'sms_access_key'), SecretIntegrityError);
  const body = Buffer.from(row.ciphertext, 'base64');
  body[3] ^= 0x10;
  await stores.state.db
    .updateTable('secrets')
    .set({ ciphertext: body.toString('base64') })
    .where('workspace_id', '=', wsA)
    .where('name', '=', 'sms_access_key')
    .execute();
  await assert.rejects(readSecret(stores, wsA, 'sms_access_key'), /failed its integrity check/);
  await deleteSecret(stores, wsA, 'sms_access_key');
  await deleteSecret(stores, wsB, 'sms_access_key');
});

test('names and values are checked, naming the field', async () => {
  await assert.rejects(writeSecret(stores, wsA, 'DATABASE_URL', 'x'.repeat(20)), /name: a secret name is/);
  await assert.rejects(writeSecret(stores, wsA, 'ok_name', ''), /value: a secret value cannot be empty/);
  await assert.rejects(writeSecret(stores, wsA, 'ok_name', 'x'.repeat(16 * 1024 + 1)), /value: a secret value is at most/);
});

test('setting, replacing and deleting are audited without the value', async () => {
  const value = 'audited-secret-value-5678';
  await setSecret(stores, wsA, 'user:admin@x', 'email_password', value);
  await setSecret(stores, wsA, 'user:admin@x', 'email_password', value + '9');
  assert.equal(await removeSecret(stores, wsA, 'user:admin@x', 'email_password'), true);
  const audit = await listAudit(stores, wsA);
  const actions = audit.filter((a) => a.target === 'email_password').map((a) => a.action);
  assert.deepEqual(actions, ['secret.delete', 'secret.replace', 'secret.set']);
  assert.ok(!JSON.stringify(audit).includes('audited-secret-value'));
});

test('rotating the key file re-seals every value under a new key, drops the old key, and values still read', async () => {
  await writeSecret(stores, wsA, 'rot_one', 'rotation-value-one-0001');
  await writeSecret(stores, wsB, 'rot_two', 'rotation-value-two-0002');
  const before = secretKeyring(stores)!;
  assert.ok(before.file, 'the test stores keep their key in the data directory');
  assert.equal(before.file, keyFilePath(dataDir));
  const result = await rotateSecretKey(stores, 'cli');
  assert.equal(result.generated, true);
  assert.notEqual(result.keyId, before.current.id);
  assert.ok((result.resealed[wsA] ?? 0) >= 1 && (result.resealed[wsB] ?? 0) >= 1);
  assert.ok(result.retired.includes(before.current.id));
  const keyIds = (await stores.state.db.selectFrom('secrets').select('key_id').distinct().execute()).map((r) => r.key_id);
  assert.deepEqual(keyIds, [result.keyId]);
  // A fresh process reads the rotated file: the old key is gone from it, the values open.
  const reloaded = loadKeyring({ dataDir, env: {} })!;
  assert.equal(reloaded.current.id, result.keyId);
  assert.equal(reloaded.keys.has(before.current.id), false);
  assert.equal(fs.statSync(keyFilePath(dataDir)).mode & 0o777, 0o600);
  assert.equal(await readSecret(stores, wsA, 'rot_one'), 'rotation-value-one-0001');
  assert.equal(await readSecret(stores, wsB, 'rot_two'), 'rotation-value-two-0002');
  assert.ok((await listAudit(stores, wsB)).some((a) => a.action === 'secret.rotate-key'));
});

test('rotating to a new SIYU_SECRET_KEY re-seals what the previous key sealed; without the previous key values cannot open', async () => {
  const old = secretKeyring(stores, { reload: true })!;
  const fresh = generateMasterKey();
  // The operator moves to keys in the environment: the generated file is gone from this server.
  fs.renameSync(keyFilePath(dataDir), `${keyFilePath(dataDir)}.moved`);
  const saved = { key: process.env.SIYU_SECRET_KEY, previous: process.env.SIYU_SECRET_KEY_PREVIOUS };
  process.env.SIYU_SECRET_KEY = fresh.key.toString('base64');
  delete process.env.SIYU_SECRET_KEY_PREVIOUS;
  try {
    secretKeyring(stores, { reload: true });
    await assert.rejects(readSecret(stores, wsA, 'rot_one'), /sealed under master key .* SIYU_SECRET_KEY_PREVIOUS/);
    process.env.SIYU_SECRET_KEY_PREVIOUS = old.current.key.toString('hex');
    secretKeyring(stores, { reload: true });
    assert.equal(await readSecret(stores, wsA, 'rot_one'), 'rotation-value-one-0001');
    const result = await rotateSecretKey(stores, 'cli');
    assert.equal(result.generated, false);
    assert.equal(result.keyId, fresh.id);
    const keyIds = (await stores.state.db.selectFrom('secrets').select('key_id').distinct().execute()).map((r) => r.key_id);
    assert.deepEqual(keyIds, [fresh.id]);
    delete process.env.SIYU_SECRET_KEY_PREVIOUS;
    secretKeyring(stores, { reload: true });
    assert.equal(await readSecret(stores, wsB, 'rot_two'), 'rotation-value-two-0002', 'readable with the new key alone');
  } finally {
    if (saved.key === undefined) delete process.env.SIYU_SECRET_KEY;
    else process.env.SIYU_SECRET_KEY = saved.key;
    if (saved.previous === undefined) delete process.env.SIYU_SECRET_KEY_PREVIOUS;
    else process.env.SIYU_SECRET_KEY_PREVIOUS = saved.previous;
  }
});

test('secret values that appear in a text are redacted', () => {
  assert.equal(redactSecretValues('401: token abcdef123456 is invalid', ['abcdef123456']), '401: token •••• is invalid');
  assert.equal(redactSecretValues('nothing here', [undefined, 'abc']), 'nothing here');
});
