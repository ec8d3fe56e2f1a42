"""The API's tests run on the session's shared ``outbound serve``, one per database (see
``tests/shared_server.py``). A module that needs a server to itself overrides ``database_url``
with ``module_database_url``, and ``server`` if it uses one."""

from tests import shared_server

database_url, server = shared_server.database_url, shared_server.server
