"""The official Cloudflare Python SDK against a rate-limited seats server: it must wait out
each 429 (honouring Retry-After) and succeed. Prints the elapsed time.

Run by crates/seats-server/tests/api/official_sdks.rs with the server at `--rate-limit 2/2s`.
"""

import os
import time

from cloudflare import Cloudflare

client = Cloudflare(api_token=os.environ["SEATS_TOKEN"], base_url=os.environ["SEATS_BASE_URL"], max_retries=2)
started = time.monotonic()
for _ in range(4):
    page = client.zero_trust.seats.edit(account_id=os.environ["SEATS_ACCOUNT_ID"], body=[])
    assert list(page) == []
print(f"rate limit: ok after {time.monotonic() - started:.3f} s")
