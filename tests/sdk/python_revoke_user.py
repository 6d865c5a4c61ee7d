"""The official Cloudflare Python SDK, unchanged but for base_url, revokes a user's access:
`zero_trust.organizations.revoke_users`, first its sessions, then (with `query_devices`) its
devices too; an email no user has raises the SDK's NotFoundError.

Run by crates/seats-server/tests/api/official_sdks.rs, which starts the server with a user
holding sessions and devices and checks the database afterwards.
"""

import os
import sys

import cloudflare
from cloudflare import Cloudflare

account_id = os.environ["SEATS_ACCOUNT_ID"]
email = os.environ["SEATS_USER_EMAIL"]


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


client = Cloudflare(
    api_email=os.environ["SEATS_EMAIL"], api_key=os.environ["SEATS_KEY"], base_url=os.environ["SEATS_BASE_URL"],
    max_retries=0,
)
orgs = client.zero_trust.organizations

result = orgs.revoke_users(account_id=account_id, email=email, warp_session_reauth=False)
check(result is True, f"result true, got {result!r}")
print("sessions: ok", flush=True)

result = orgs.revoke_users(account_id=account_id, email=email, query_devices=True, body_devices=True)
check(result is True, f"result true, got {result!r}")
print("devices: ok", flush=True)

try:
    orgs.revoke_users(account_id=account_id, email="nobody@example.com")
    check(False, "an unknown email must raise")
except cloudflare.NotFoundError as e:
    check(e.status_code == 404, f"404, got {e.status_code}")
    error = e.body["errors"][0]
    check(error["code"] == 12130 and error["source"]["pointer"] == "/email", f"12130 at /email, got {e.body}")
print("errors: ok", flush=True)
