"""The ``outbound`` command.

``admin`` holds the commands that run outbound and manage it on the server (``serve``, ``api``,
``worker``, ``db``, ``account``, ``token``, ``playbook``); ``campaigns`` and the modules beside it
(``contact_files``, ``upload``, ``watch``, ``export``) drive a running server over HTTP through
``outbound.client`` and never touch the database. May import ``services``, ``workers``,
``client``, ``config``, ``domain``, ``schemas`` and the database handle
(``store.database.Database``); nothing imports it.
"""

from outbound.cli.admin import app, main

__all__ = ["app", "main"]
