"""pytest fixtures of the seats wheel (registered through the `pytest11` entry point).

- `seats_server`: one `SeatsServer` for the whole session;
- `seats`: that server, reset to its seed before the test (data, fault rules, journal);
- `cloudflare_client`: the official SDK's `cloudflare.Cloudflare` on it with the demo token
  (skips when `cloudflare` is not installed).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from seats._server import SeatsServer


@pytest.fixture(scope="session")
def seats_server() -> Iterator[SeatsServer]:
    with SeatsServer() as server:
        yield server


@pytest.fixture
def seats(seats_server: SeatsServer) -> SeatsServer:
    seats_server.reset()
    return seats_server


@pytest.fixture
def cloudflare_client(seats: SeatsServer):
    cloudflare = pytest.importorskip("cloudflare")
    return cloudflare.Cloudflare(api_token=seats.token, base_url=seats.api_base_url)
