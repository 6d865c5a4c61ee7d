// The official Cloudflare TypeScript SDK (npm `cloudflare`), unchanged but for baseURL,
// revokes a user's access: `zeroTrust.organizations.revokeUsers`, its sessions, then with
// `query_devices` its devices; an unknown email throws the SDK's NotFoundError.
// Run by crates/seats-server/tests/api/official_sdks.rs.
const Cloudflare = require('cloudflare').default;

const env = process.env;

function check(cond, what) {
  if (!cond) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
}

async function main() {
  const client = new Cloudflare({
    apiEmail: env.SEATS_EMAIL, apiKey: env.SEATS_KEY, apiToken: null, baseURL: env.SEATS_BASE_URL, maxRetries: 0,
  });
  const orgs = client.zeroTrust.organizations;
  let result = await orgs.revokeUsers({ account_id: env.SEATS_ACCOUNT_ID, email: env.SEATS_USER_EMAIL });
  check(result === true, `result true, got ${JSON.stringify(result)}`);
  console.log('sessions: ok');

  // The SDK sends `body_devices` under that name, which is not Cloudflare's body field:
  // the query parameter is the one that reaches the server.
  result = await orgs.revokeUsers({ account_id: env.SEATS_ACCOUNT_ID, email: env.SEATS_USER_EMAIL, query_devices: true });
  check(result === true, `result true, got ${JSON.stringify(result)}`);
  console.log('devices: ok');

  try {
    await orgs.revokeUsers({ account_id: env.SEATS_ACCOUNT_ID, email: 'nobody@example.com' });
    check(false, 'an unknown email must throw');
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
