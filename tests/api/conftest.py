"""The API's tests run on the session's shared ``outbound serve``, one per database (see
``tests/shared_server.py``). A module that needs a server to itself overrides ``database_url``
with ``module_database_url``, and ``server`` if it uses one."""

from tests.shared_server import database_url, server

__all__ = ["database_url", "server"]
