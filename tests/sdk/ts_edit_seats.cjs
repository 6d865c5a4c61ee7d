// Drives a seats server with the official Cloudflare TypeScript SDK (npm `cloudflare`),
// unchanged but for baseURL. Run by crates/seats-server/tests/api/ts_sdk.rs.
const Cloudflare = require('cloudflare').default;

const env = process.env;
const baseURL = env.SEATS_BASE_URL;
const accountId = env.SEATS_ACCOUNT_ID;
const seatUid = env.SEATS_SEAT_UID;

function check(cond, what) {
  if (!cond) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
}

async function main() {
  // API token: remove the seat, as in Cloudflare's example.
  let client = new Cloudflare({ apiToken: env.SEATS_TOKEN, baseURL, maxRetries: 0 });
  let page = await client.zeroTrust.seats.edit({
    account_id: accountId,
    body: [{ access_seat: false, gateway_seat: false, seat_uid: seatUid }],
  });
  let seats = page.getPaginatedItems();
  check(seats.length === 1, `one seat back, got ${JSON.stringify(seats)}`);
  check(seats[0].seat_uid === seatUid, 'seat_uid echoed');
  check(seats[0].access_seat === false && seats[0].gateway_seat === false, 'flags off');
  console.log('token: ok');

  // Email + global key: give back the Gateway seat only.
  client = new Cloudflare({ apiEmail: env.SEATS_EMAIL, apiKey: env.SEATS_KEY, apiToken: null, baseURL, maxRetries: 0 });
  page = await client.zeroTrust.seats.edit({
    account_id: accountId,
    body: [{ access_seat: false, gateway_seat: true, seat_uid: seatUid }],
  });
  seats = page.getPaginatedItems();
  check(seats[0].access_seat === false && seats[0].gateway_seat === true, 'gateway on');
  console.log('key: ok');

  // Errors arrive as the SDK's typed errors carrying our envelope.
  try {
    await client.zeroTrust.seats.edit({
      account_id: accountId,
      body: [{ access_seat: true, gateway_seat: true, seat_uid: 'no-such-seat' }],
    });
    check(false, 'an unknown seat must throw');
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
