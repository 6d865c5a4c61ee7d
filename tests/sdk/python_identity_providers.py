"""The official Cloudflare Python SDK, unchanged but for base_url, manages identity providers
and lists the SCIM users an identity provider provisioned.

Run by crates/seats-server/tests/api/official_sdks.rs, which starts the server and passes the
SEATS_* variables (a credential that reaches the account with the identity provider groups).
Prints `idp: ok <id> <secret>` so the test can provision over SCIM, then waits for a line on
stdin before checking `scim.users.list`.
"""

import os
import sys

import cloudflare
from cloudflare import Cloudflare

base_url = os.environ["SEATS_BASE_URL"]
account_id = os.environ["SEATS_ACCOUNT_ID"]


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


client = Cloudflare(api_email=os.environ["SEATS_EMAIL"], api_key=os.environ["SEATS_KEY"], base_url=base_url, max_retries=0)
idps = client.zero_trust.identity_providers

created = idps.create(
    account_id=account_id,
    name="Okta",
    type="okta",
    config={"client_id": "cid", "client_secret": "shh", "okta_account": "https://dev.okta.com"},
    scim_config={"enabled": True, "user_deprovision": True, "seat_deprovision": True},
)
check(created.id, f"an id, got {created}")
check(created.type == "okta" and created.name == "Okta", f"shape, got {created}")
secret = created.scim_config.secret
check(secret and len(secret) == 64, f"the secret shown once, got {created.scim_config}")
check(created.scim_config.scim_base_url.endswith(f"/populations/{created.id}/scim/v2"), "scim_base_url")

got = idps.get(created.id, account_id=account_id)
check(got.scim_config.secret != secret, "redacted afterwards")
check(got.scim_config.seat_deprovision is True and got.scim_config.user_deprovision is True, "flags")

updated = idps.update(
    created.id, account_id=account_id, name="Okta prod", type="okta", config={"okta_account": "https://prod.okta.com"}
)
check(updated.name == "Okta prod", f"renamed, got {updated}")
check(updated.scim_config.enabled is True, "an update without scim_config keeps SCIM on")

listed = list(idps.list(account_id=account_id))
check([p.id for p in listed] == [created.id], f"listed, got {listed}")

try:
    idps.create(
        account_id=account_id, name="bad", type="okta", config={},
        scim_config={"enabled": True, "seat_deprovision": True, "user_deprovision": False},
    )
    check(False, "seat_deprovision without user_deprovision must raise")
except cloudflare.BadRequestError as e:
    err = e.body["errors"][0]
    check(err["code"] == 12006 and err["source"]["pointer"] == "/scim_config/seat_deprovision", f"got {e.body}")

print(f"idp: ok {created.id} {secret}", flush=True)
sys.stdin.readline()  # the test provisions users over SCIM meanwhile

users = list(idps.scim.users.list(created.id, account_id=account_id))
check(len(users) == 1, f"one SCIM user, got {users}")
check(users[0].external_id == "00u1" and users[0].active is False, f"shape, got {users[0]}")
check(users[0].emails[0].value == "alice@example.com", f"emails, got {users[0].emails}")
filtered = list(idps.scim.users.list(created.id, account_id=account_id, username="nobody"))
check(filtered == [], f"filtered, got {filtered}")
print("scim users: ok")

deleted = idps.delete(created.id, account_id=account_id)
check(deleted.id == created.id, f"deleted, got {deleted}")
check(list(idps.list(account_id=account_id)) == [], "gone")
print("delete: ok")
