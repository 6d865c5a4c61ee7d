"""The seats wheel as a test suite uses it: the fixtures with the official Cloudflare SDK (an
offboarding, a 429 retried through a fault rule, isolation between tests), and start-up
failures that raise with the server's own words and leave nothing behind. Run by
.ci/python in a fresh virtualenv holding only the built wheel, cloudflare and pytest."""

import glob
import os
import tempfile

import pytest

from seats import SeatsServer, SeatsServerError


def test_offboarding_frees_the_seat(seats, cloudflare_client):
    page = cloudflare_client.zero_trust.seats.edit(
        account_id=seats.account_id,
        body=[{"seat_uid": seats.seat_uid, "access_seat": False, "gateway_seat": False}],
    )
    assert [(s.seat_uid, s.access_seat, s.gateway_seat) for s in page] == [(seats.seat_uid, False, False)]
    edits = seats.edits(seats.seat_uid)
    assert len(edits) == 1, edits
    assert edits[0]["status"] == 200
    assert edits[0]["request_body"] == [{"seat_uid": seats.seat_uid, "access_seat": False, "gateway_seat": False}]


def test_each_test_starts_from_the_seed(seats):
    # The test before removed the seat; the reset before this one gave it back.
    assert seats.edits() == []
    users = seats.operator("GET", f"/accounts/{seats.account_id}")
    assert users["seats_in_use"] == 1, users


def test_a_429_from_a_fault_rule_is_retried_by_the_sdk(seats, cloudflare_client):
    seats.add_fault({"match": {"operation_id": "zero-trust-seats-update-a-user-seat"}, "action": {"status": 429}, "times": 1})
    page = cloudflare_client.with_options(max_retries=2).zero_trust.seats.edit(
        account_id=seats.account_id,
        body=[{"seat_uid": seats.seat_uid, "access_seat": True, "gateway_seat": False}],
    )
    assert [s.access_seat for s in page] == [True]
    assert [e["status"] for e in seats.edits(seats.seat_uid)] == [429, 200]


def seats_dirs():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "seats-*")))


def test_a_missing_binary_raises_and_leaves_nothing():
    before = seats_dirs()
    with pytest.raises(SeatsServerError, match="cannot run /no/such/seats"):
        SeatsServer(binary="/no/such/seats").start()
    assert seats_dirs() == before


def test_a_server_that_exits_at_start_up_raises_with_its_last_lines(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text('{"accounts": [{"id": "not-an-account-id"}]}')
    before = seats_dirs()
    with pytest.raises(SeatsServerError) as raised:
        SeatsServer(seed=str(seed), startup_timeout=10).start()
    message = str(raised.value)
    assert message.startswith("the seats server "), message
    assert "invalid seed file, nothing was loaded" in message, message
    assert seats_dirs() == before
