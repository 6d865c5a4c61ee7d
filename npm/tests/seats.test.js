// The npm packages as a test suite uses them, with node:test and the official `cloudflare`
// package: an offboarding, a 429 retried through a fault rule, isolation through reset(), and
// start-up failures that reject with the server's own words. Run by .ci/npm in a fresh
// project that installed the packed tarballs.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Cloudflare = require('cloudflare').default;
const { startSeats } = require('seats-server');

const seatsDirs = () => new Set(fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('seats-')));

test('the official SDK against startSeats()', async (t) => {
  const seats = await startSeats();
  t.after(() => seats.stop());
  const client = new Cloudflare({ apiToken: seats.token, baseURL: seats.baseURL, maxRetries: 2 });
  const edit = (access) =>
    client.zeroTrust.seats.edit({
      account_id: seats.accountId,
      body: [{ seat_uid: seats.seatUid, access_seat: access, gateway_seat: false }],
    });

  await t.test('offboarding frees the seat', async () => {
    const page = await edit(false);
    assert.deepEqual(page.getPaginatedItems().map((s) => s.access_seat), [false]);
    const edits = await seats.edits(seats.seatUid);
    assert.equal(edits.length, 1);
    assert.equal(edits[0].status, 200);
  });

  await t.test('reset goes back to the seed', async () => {
    await seats.reset();
    assert.deepEqual(await seats.edits(), []);
    const account = await seats.operator('GET', `/accounts/${seats.accountId}`);
    assert.equal(account.seats_in_use, 1);
  });

  await t.test('a 429 from a fault rule is retried by the SDK', async () => {
    await seats.addFault({ match: { operation_id: 'zero-trust-seats-update-a-user-seat' }, action: { status: 429 }, times: 1 });
    const page = await edit(true);
    assert.deepEqual(page.getPaginatedItems().map((s) => s.access_seat), [true]);
    assert.deepEqual((await seats.edits(seats.seatUid)).map((e) => e.status), [429, 200]);
  });
});

test('a missing binary rejects and leaves nothing behind', async () => {
  const before = seatsDirs();
  await assert.rejects(startSeats({ binary: '/no/such/seats' }), /cannot run \/no\/such\/seats/);
  assert.deepEqual(seatsDirs(), before);
});

test('a server that exits at start-up rejects with its last lines', async () => {
  const seed = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seed-')), 'seed.json');
  fs.writeFileSync(seed, '{"accounts": [{"id": "not-an-account-id"}]}');
  const before = seatsDirs();
  await assert.rejects(startSeats({ seed }), (e) => {
    assert.match(e.message, /^the seats server exited with status 1; its last lines:/);
    assert.match(e.message, /invalid seed file, nothing was loaded/);
    return true;
  });
  assert.deepEqual(seatsDirs(), before);
});
