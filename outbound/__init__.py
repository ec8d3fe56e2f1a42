"""outbound: outbound phone-call campaigns for AI voice agents.

The packages, arrows pointing one way (a module imports only what is to its right):

    api/, cli/  →  services/  →  domain/, store/, providers/
    workers/    →  services/, providers/

- ``domain``: pure rules (recall, windows, pacing, statuses, phones); no I/O, no clock.
- ``store``: the only SQL; one implementation per database where they differ.
- ``providers``: the only telephony; each provider places calls and parses its own callbacks.
- ``services``: the use cases.
- ``api``: HTTP; ``cli``: the command; ``workers``: the dispatch and delivery loops, the
  ingest pool and the assembly of a process.
- ``schemas``: the JSON shapes shared by the API, the events and ``client``, the Python
  client, which imports ``schemas`` and ``httpx`` only.
- ``clock``, ``config``, ``encryption`` (provider credentials at rest), ``exceptions``,
  ``logs``, ``metrics``, ``signing``: shared by all and importing none of the packages above
  but ``domain``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
