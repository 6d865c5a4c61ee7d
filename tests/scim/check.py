"""Runs scim2-tester, an independent SCIM 2.0 conformance checker, against one identity
provider's SCIM endpoint of a running seats server.

Usage: check.py SCIM_BASE_URL SECRET

Prints every check with its status and exits 1 if any is ERROR or CRITICAL (a broken MUST of
RFC 7643/7644, or a security problem). DEVIATION (a SHOULD not followed) is printed, not fatal.
"""

import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base, secret = sys.argv[1], sys.argv[2]
http = httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=30)
client = SyncSCIMClient(http)
results = check_server(client)

fatal = {Status.ERROR, Status.CRITICAL}
failed = 0
for r in results:
    where = f"[{r.resource_type}] " if r.resource_type else ""
    print(f"{r.status.name:10} {where}{r.title}: {r.reason or ''}")
    if r.status in fatal:
        failed += 1
        if r.data is not None:
            print(f"           data: {r.data!r}"[:2000])
counts = {}
for r in results:
    counts[r.status.name] = counts.get(r.status.name, 0) + 1
print("scim2-tester:", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
if not results:
    print("no checks ran")
    sys.exit(1)
sys.exit(1 if failed else 0)
