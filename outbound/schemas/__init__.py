"""The JSON shapes of outbound: request and response bodies, the views of campaigns and calls,
of playbooks and of the account, the limits of what a request may carry, and pydantic's errors
as the API's error items.

One home for what the API answers, what events carry and what the Python client parses.
Imports pydantic, ``outbound.domain`` and the standard library only: never FastAPI or
Starlette, so that ``outbound.client`` stays light.
"""
