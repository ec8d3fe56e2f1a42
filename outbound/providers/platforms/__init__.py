"""Agent platforms reached through an account's provider connection (CONTRACT §8): one adapter
per platform, each placing calls with the platform's create-call API, looking them up with its
get-call API, and verifying and parsing the webhooks it posts to
``/provider/connection/{id}/events``. What every adapter does the same way (refusals, the
result convention, end events, webhook checks) is ``conventions``. The ``twilio`` and
``webhook`` adapters are the server's Twilio and webhook providers on a connection: they reuse
those providers' modules.

May import ``outbound.domain``, ``outbound.providers`` (base, callbacks, errors, and the
twilio and webhook providers), ``outbound.clock``, ``outbound.signing``, httpx, pydantic and the
platforms' SDKs; nothing of the API, the services or the store.
"""
