"""Pure rules of the product: recall, calling windows, pacing, statuses, phone numbers,
personalization, the next state of a call.

No I/O and no clock: ``now`` is always a parameter. Imports the standard library,
``phonenumbers`` and ``outbound.domain`` only; every other layer may import it.
"""
