"""The JSON shapes of outbound: request and response bodies, the views of campaigns and calls,
and the limits of what a request may carry.

One home for what the API answers, what events carry and what the Python client parses.
Imports pydantic, ``outbound.domain`` and the standard library only: never FastAPI or
Starlette, so that ``outbound.client`` stays light.
"""
