"""One router per resource, each included once by ``outbound.api.app``.

A route reads its request, calls one use case of ``outbound.services`` and renders its result;
it may import ``services``, ``schemas``, ``domain`` and ``api.deps``, never the store.
"""
