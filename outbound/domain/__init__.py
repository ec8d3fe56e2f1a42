"""Pure rules of the product: no I/O, no clock (``now`` is always a parameter)."""
