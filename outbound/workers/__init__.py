"""The processes' work loops and their assembly.

``dispatcher`` dials due calls and records their outcomes; ``delivery`` sends events to
customers' webhook endpoints; ``ingest_pool`` is the pool of processes that prepares large
contact lists; ``assembly`` opens the database and builds the provider and the loops from the
settings; ``gc_tuning`` sets the garbage collector for processes that build large batches.

May import ``services``, ``providers``, ``domain``, ``config``, ``clock``, ``metrics`` and the
database handle (``store.database.Database``); the loops hold no SQL and no provider specifics.
"""
