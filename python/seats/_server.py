"""`SeatsServer`: the `seats` binary on a free port of 127.0.0.1, over a fresh SQLite database in
a temporary directory, with the demo data (or a seed file), until `stop()`."""

from __future__ import annotations

import collections
import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Deque, Dict, List, Optional, Sequence

# The demo data (`seats serve --demo`): Cloudflare's documentation examples.
DEMO_ACCOUNT_ID = "699d98642c564d2e855e9661899b7252"
DEMO_TOKEN = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"
DEMO_EMAIL = "user@example.com"
DEMO_API_KEY = "144c9defac04969c7bfad8efaa8ea194"
DEMO_SEAT_UID = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"

SEAT_EDIT = "zero-trust-seats-update-a-user-seat"


class SeatsServerError(RuntimeError):
    """The server could not start, stopped, or its operator API refused a call."""


def find_binary() -> str:
    """The `seats` binary: `$SEATS_BINARY`, else the one this wheel installed beside the
    interpreter's scripts, else the first on `PATH`."""
    explicit = os.environ.get("SEATS_BINARY")
    if explicit:
        return explicit
    exe = "seats.exe" if sys.platform == "win32" else "seats"
    for scheme in (None, f"{os.name}_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        candidate = os.path.join(scripts, exe)
        if os.path.isfile(candidate):
            return candidate
    found = shutil.which(exe)
    if found:
        return found
    raise SeatsServerError("no `seats` binary: install the seats wheel, or set SEATS_BINARY")


class SeatsServer:
    """A running seats server. Use it as a context manager, or call `start()` and `stop()`.

    `seed` is a seed file (JSON) to start from instead of the demo data; `args` are more
    `seats serve` flags. Start-up waits at most `startup_timeout` seconds; a server that exits
    or does not answer by then raises `SeatsServerError` quoting its last log lines, and
    leaves no process or directory behind."""

    def __init__(
        self,
        *,
        seed: Optional[str] = None,
        binary: Optional[str] = None,
        args: Sequence[str] = (),
        startup_timeout: float = 15.0,
    ) -> None:
        self._seed = seed
        self._binary = binary
        self._args = list(args)
        self._startup_timeout = startup_timeout
        self._process: Optional[subprocess.Popen] = None
        self._dir: Optional[str] = None
        self._log: Deque[str] = collections.deque(maxlen=40)
        self.operator_key = secrets.token_hex(32)
        self.base_url = ""
        self.account_id = DEMO_ACCOUNT_ID
        self.token = DEMO_TOKEN
        self.email = DEMO_EMAIL
        self.api_key = DEMO_API_KEY
        self.seat_uid = DEMO_SEAT_UID

    # -- life cycle ---------------------------------------------------------------------

    def __enter__(self) -> "SeatsServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> "SeatsServer":
        if self._process is not None:
            return self
        binary = self._binary or find_binary()
        self._dir = tempfile.mkdtemp(prefix="seats-")
        database = "sqlite://" + os.path.join(self._dir, "seats.db")
        command = [binary, "serve", "--listen", "127.0.0.1:0", "--database", database, "--journal-bodies"]
        command += ["--seed", self._seed] if self._seed else ["--demo"]
        command += self._args
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEATS_")}
        env["SEATS_OPERATOR_KEY"] = self.operator_key
        try:
            self._process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                text=True,
            )
        except OSError as e:
            self._cleanup()
            raise SeatsServerError(f"cannot run {binary}: {e}") from e
        listening = threading.Event()
        threading.Thread(target=self._read_output, args=(listening,), daemon=True).start()
        try:
            self._wait_until_ready(listening)
        except BaseException:
            self.stop()
            raise
        return self

    def _read_output(self, listening: threading.Event) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            line = line.rstrip("\n")
            self._log.append(line)
            if line.startswith("seats listening on ") and not listening.is_set():
                self.base_url = line[len("seats listening on ") :].strip()
                listening.set()
        listening.set()  # the process ended: stop waiting

    def _wait_until_ready(self, listening: threading.Event) -> None:
        deadline = time.monotonic() + self._startup_timeout
        if not listening.wait(self._startup_timeout) or not self.base_url:
            raise self._failure("did not start listening")
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise self._failure(f"exited with status {self._process.returncode}")
            try:
                with urllib.request.urlopen(self.base_url + "/readyz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        raise self._failure(f"was not ready within {self._startup_timeout} s")

    def _failure(self, what: str) -> SeatsServerError:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        time.sleep(0.05)  # the last lines
        lines = "\n".join(self._log) or "(it printed nothing)"
        return SeatsServerError(f"the seats server {what}; its last lines:\n{lines}")

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 10 s) and removes its database."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    @property
    def api_base_url(self) -> str:
        """What the official SDKs take as `base_url`: `http://127.0.0.1:PORT/client/v4`."""
        return self.base_url + "/client/v4"

    @property
    def log(self) -> List[str]:
        """The server's last log lines."""
        return list(self._log)

    # -- the operator API ---------------------------------------------------------------

    def operator(self, method: str, path: str, body: Any = None) -> Any:
        """Calls `/_seats/v1{path}`; the `result` of its envelope."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_seats/v1{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.operator_key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                text = answer.read().decode()
        except urllib.error.HTTPError as e:
            raise SeatsServerError(f"{method} {path}: {e.code} {e.read().decode()}") from e
        return json.loads(text).get("result") if text else None

    def reset(self) -> None:
        """Back to the seed: its data, no fault rules, an empty journal."""
        self.operator("POST", "/reset")

    def journal(self, **filters: Any) -> List[Dict[str, Any]]:
        """The requests received, oldest first; filters as the journal takes them
        (`operation_id=`, `method=`, `status=`, `account_id=`, `since=`, `limit=`)."""
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.operator("GET", "/journal" + (f"?{query}" if query else ""))

    def edits(self, seat_uid: Optional[str] = None) -> List[Dict[str, Any]]:
        """The seat edits (`PATCH .../access/seats`) received, oldest first; with `seat_uid`,
        those whose body names that seat."""
        entries = self.journal(operation_id=SEAT_EDIT)
        if seat_uid is None:
            return entries
        return [
            e
            for e in entries
            if any(isinstance(i, dict) and i.get("seat_uid") == seat_uid for i in (e.get("request_body") or []))
        ]

    def add_fault(self, rule: Dict[str, Any]) -> Dict[str, Any]:
        """Adds a fault rule, e.g. `{"match": {"operation_id": "..."}, "action": {"status": 429},
        "times": 1}`."""
        return self.operator("POST", "/faults", rule)

    def clear_faults(self) -> None:
        self.operator("DELETE", "/faults")

    def snapshot(self, name: str) -> None:
        self.operator("POST", "/snapshots", {"name": name})

    def restore(self, name: str) -> None:
        self.operator("POST", f"/snapshots/{name}/restore")
