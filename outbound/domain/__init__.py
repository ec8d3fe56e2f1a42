"""Pure rules of the product: no I/O, no clock (``now`` is always a parameter).

``recall`` (what follows an attempt: the recall rule, ``recall_on``, the window), ``claims``
(the claim's sort of due calls), ``pacing``, ``windows``, ``backoff`` (provider and event
retries, when an event is given up), ``phones``, ``personalization``, ``contacts``,
``outcomes``, ``schedule``, ``paging`` (the cursor of every list); ``statuses`` and
``records`` are the shared vocabulary.

Imports only the standard library, ``phonenumbers``, ``jinja2`` (sandboxed templates),
``outbound.exceptions`` (the errors a use case renders) and ``domain`` itself.
"""
