"""Use cases: what the API, the CLI and the workers ask of outbound.

Each takes the database handle (``outbound.store.database.Database``), gets its transactions
from it and hands them to the store's functions; it never asks which database it has. Use cases
return domain results (records of ``outbound.domain``, or a result's JSON form from
``outbound.schemas.records``); the API turns them into HTTP. One module per area: campaigns and
their contact lists, dispatch, provider events, provider connections, do-not-call, webhooks,
accounts, playbooks, results, readiness.

May import ``domain``, ``store``, ``schemas``, ``exceptions``, ``clock``, ``metrics``,
``signing``, ``encryption``, the provider types of ``providers.base`` (and the ``Connection``
of ``providers.platforms.base``) and the ingest pool (``workers.ingest_pool``, which prepares
large lists); never a driver or SQLAlchemy.
"""
