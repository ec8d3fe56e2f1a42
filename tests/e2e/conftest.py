"""End-to-end tests: real ``outbound serve`` and ``outbound worker`` processes, whole-system
promises. Those that only need a server as it comes run on the session's shared one (see
``tests/shared_server.py``); the others start their own, on a database of their own."""

from tests import shared_server

database_url, server = shared_server.database_url, shared_server.server
