"""The official Cloudflare Python SDK, with its default retries, against seats' fault rules.

Run by crates/seats-server/tests/api/official_sdks.rs with a mode:
- `retries-429`: a one-shot 429 is in place; the edit must succeed (the SDK retried).
- `gives-up-503`: every edit is answered 503; the SDK must raise InternalServerError after its
  retries.
"""

import os
import sys

import cloudflare
from cloudflare import Cloudflare

mode = sys.argv[1]
client = Cloudflare(api_token=os.environ["SEATS_TOKEN"], base_url=os.environ["SEATS_BASE_URL"])
body = [{"access_seat": False, "gateway_seat": False, "seat_uid": os.environ["SEATS_SEAT_UID"]}]

if mode == "retries-429":
    seats = list(client.zero_trust.seats.edit(account_id=os.environ["SEATS_ACCOUNT_ID"], body=body))
    assert seats[0].access_seat is False, seats
    print("retries-429: ok")
elif mode == "gives-up-503":
    try:
        client.zero_trust.seats.edit(account_id=os.environ["SEATS_ACCOUNT_ID"], body=body)
        print("FAILED: a persistent 503 must raise", file=sys.stderr)
        sys.exit(1)
    except cloudflare.InternalServerError as e:
        assert e.status_code == 503, e.status_code
        assert e.body["errors"][0]["code"] == 10003, e.body
    print("gives-up-503: ok")
else:
    sys.exit(f"unknown mode {mode}")
