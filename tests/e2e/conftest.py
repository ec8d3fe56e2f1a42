"""End-to-end tests: real ``outbound serve`` and ``outbound worker`` processes, whole-system
promises. Those that only need a server as it comes run on the session's shared one (see
``tests/shared_server.py``); the others start their own, on a database of their own."""

from tests.shared_server import database_url, server

__all__ = ["database_url", "server"]
