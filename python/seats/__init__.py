"""A Cloudflare-compatible Zero Trust seats server for tests: the `seats` binary of this wheel,
started by `SeatsServer`, with a pytest plugin (`seats.pytest_plugin`)."""

from seats._server import SeatsServer, SeatsServerError, find_binary

__all__ = ["SeatsServer", "SeatsServerError", "find_binary"]
