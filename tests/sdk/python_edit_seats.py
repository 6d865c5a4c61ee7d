"""Drives a seats server with the official Cloudflare Python SDK, unchanged but for base_url.

Run by crates/seats-server/tests/api/python_sdk.rs, which starts the server and passes the
SEATS_* variables.
"""

import os
import sys

import cloudflare
from cloudflare import Cloudflare

base_url = os.environ["SEATS_BASE_URL"]
account_id = os.environ["SEATS_ACCOUNT_ID"]
seat_uid = os.environ["SEATS_SEAT_UID"]


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


# With the API token: remove the seat, as in Cloudflare's example.
client = Cloudflare(api_token=os.environ["SEATS_TOKEN"], base_url=base_url, max_retries=0)
page = client.zero_trust.seats.edit(
    account_id=account_id,
    body=[{"access_seat": False, "gateway_seat": False, "seat_uid": seat_uid}],
)
seats = list(page)
check(len(seats) == 1, f"one seat back, got {seats}")
check(seats[0].seat_uid == seat_uid, "seat_uid echoed")
check(seats[0].access_seat is False and seats[0].gateway_seat is False, "flags off")
check(seats[0].updated_at is not None and seats[0].created_at is not None, "timestamps parsed")
print("token: ok")

# With the email + global key pair: give back the Access seat only.
client = Cloudflare(
    api_email=os.environ["SEATS_EMAIL"], api_key=os.environ["SEATS_KEY"], base_url=base_url, max_retries=0
)
page = client.zero_trust.seats.edit(
    account_id=account_id,
    body=[{"access_seat": True, "gateway_seat": False, "seat_uid": seat_uid}],
)
seats = list(page)
check(seats[0].access_seat is True and seats[0].gateway_seat is False, "access on, gateway off")
print("key: ok")

# Errors surface as the SDK's typed exceptions with our envelope.
try:
    client.zero_trust.seats.edit(
        account_id=account_id,
        body=[{"access_seat": True, "gateway_seat": False, "seat_uid": "no-such-seat"}],
    )
    check(False, "unknown seat must raise")
except cloudflare.NotFoundError as e:
    check(e.status_code == 404, "404")
    check(e.body["errors"][0]["code"] == 12130, f"code 12130, got {e.body}")
try:
    Cloudflare(api_token="wrong-token", base_url=base_url, max_retries=0).zero_trust.seats.edit(
        account_id=account_id, body=[]
    )
    check(False, "a wrong token must raise")
except cloudflare.PermissionDeniedError as e:
    check(e.status_code == 403, "403")
print("errors: ok")
