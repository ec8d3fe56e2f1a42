"""Use cases: what the API, the CLI and the workers ask of outbound.

Each takes the store's database handle and returns domain results (records, counts, outcomes),
never HTTP answers. May import ``domain``, ``store``, ``providers`` (their records),
``schemas``, ``clock``, ``config`` and ``exceptions``.
"""
