"""The official Cloudflare Python SDK, unchanged but for base_url, manages device
registrations: `zero_trust.devices.registrations` lists them page by page to the end (cursor
pagination), gets one, revokes two, unrevokes one, deletes one; `zero_trust.devices.devices`
pages through the physical devices and revokes one; the deprecated `devices.revoke` and
`devices.unrevoke` take registration ids; an unknown id raises the SDK's NotFoundError.

Run by crates/seats-server/tests/api/official_sdks.rs, which starts the server with
SEATS_DEVICES registrations and checks the database afterwards.
"""

import os
import sys

import cloudflare
from cloudflare import Cloudflare

account_id = os.environ["SEATS_ACCOUNT_ID"]
expected = int(os.environ["SEATS_DEVICES"])


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


client = Cloudflare(api_token=os.environ["SEATS_TOKEN"], base_url=os.environ["SEATS_BASE_URL"], max_retries=0)
regs = client.zero_trust.devices.registrations

listed = list(regs.list(account_id=account_id, per_page=4))
ids = [r.id for r in listed]
check(len(ids) == expected and len(set(ids)) == expected, f"{expected} registrations once each, got {len(ids)}")
check(all(r.registration_type == "warp" and r.revoked_at is None for r in listed), "active WARP registrations")
print("list: ok", flush=True)

one = regs.get(ids[0], account_id=account_id)
check(one.id == ids[0] and one.user.email == listed[0].user.email, f"get, got {one}")

regs.revoke(account_id=account_id, id=ids[:2])
revoked = list(regs.list(account_id=account_id, status="revoked"))
check(sorted(r.id for r in revoked) == sorted(ids[:2]), f"two revoked, got {revoked}")
regs.unrevoke(account_id=account_id, id=[ids[0]])
regs.bulk_delete(account_id=account_id, id=[ids[2]])
remaining = list(regs.list(account_id=account_id, status="all", per_page=10))
check(len(remaining) == expected - 1, f"one deleted, got {len(remaining)}")
print("changes: ok", flush=True)

physical = list(client.zero_trust.devices.devices.list(account_id=account_id, per_page=4))
check(len(physical) == expected - 1, f"one physical device per remaining registration, got {len(physical)}")
# One that is active and that the deprecated routes below do not touch.
target = next(p for p in physical if p.active_registrations > 0 and p.id != listed[3].device.id)
client.zero_trust.devices.devices.revoke(target.id, account_id=account_id)
after = client.zero_trust.devices.devices.get(target.id, account_id=account_id)
check(after.active_registrations == 0, f"revoked, got {after}")
print("physical: ok", flush=True)

keep = ids[3]
client.zero_trust.devices.revoke.create(account_id=account_id, body=[keep])
check(regs.get(keep, account_id=account_id).revoked_at is not None, "revoked by the deprecated route")
client.zero_trust.devices.unrevoke.create(account_id=account_id, body=[keep])
check(regs.get(keep, account_id=account_id).revoked_at is None, "unrevoked by the deprecated route")
print("deprecated: ok", flush=True)

try:
    regs.get("no-such-registration", account_id=account_id)
    check(False, "an unknown registration must raise")
except cloudflare.NotFoundError as e:
    check(e.body["errors"][0]["code"] == 12130, f"12130, got {e.body}")
print("errors: ok", flush=True)
