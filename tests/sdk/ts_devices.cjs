// The official Cloudflare TypeScript SDK (npm `cloudflare`), unchanged but for baseURL,
// manages device registrations: auto-pages through them to the end, revokes two, unrevokes
// one, deletes one, pages through the physical devices; an unknown id throws NotFoundError.
// Run by crates/seats-server/tests/api/official_sdks.rs with SEATS_DEVICES registrations.
const Cloudflare = require('cloudflare').default;

const env = process.env;
const account_id = env.SEATS_ACCOUNT_ID;
const expected = Number(env.SEATS_DEVICES);

function check(cond, what) {
  if (!cond) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
}

async function all(pages) {
  const out = [];
  for await (const item of pages) out.push(item);
  return out;
}

async function main() {
  const client = new Cloudflare({ apiToken: env.SEATS_TOKEN, baseURL: env.SEATS_BASE_URL, maxRetries: 0 });
  const regs = client.zeroTrust.devices.registrations;
  const listed = await all(regs.list({ account_id, per_page: 4 }));
  const ids = listed.map((r) => r.id);
  check(ids.length === expected && new Set(ids).size === expected, `${expected} once each, got ${ids.length}`);
  console.log('list: ok');

  await regs.revoke({ account_id, id: ids.slice(0, 2) });
  const revoked = await all(regs.list({ account_id, status: 'revoked' }));
  check(revoked.map((r) => r.id).sort().join() === ids.slice(0, 2).sort().join(), `two revoked, got ${revoked.length}`);
  await regs.unrevoke({ account_id, id: [ids[0]] });
  await regs.bulkDelete({ account_id, id: [ids[2]] });
  const remaining = await all(regs.list({ account_id, status: 'all', per_page: 10 }));
  check(remaining.length === expected - 1, `one deleted, got ${remaining.length}`);
  const physical = await all(client.zeroTrust.devices.devices.list({ account_id, per_page: 4 }));
  check(physical.length === expected - 1, `physical devices, got ${physical.length}`);
  console.log('changes: ok');

  try {
    await regs.get('no-such-registration', { account_id });
    check(false, 'an unknown registration must throw');
  } catch (e) {
    check(e instanceof Cloudflare.NotFoundError, `NotFoundError, got ${e}`);
    check(e.status === 404 && e.errors[0].code === 12130, `404 12130, got ${e.status} ${JSON.stringify(e.errors)}`);
  }
  console.log('errors: ok');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
