"""The HTTP API: FastAPI routes, one router per resource (``routes/``), the wiring of
dependencies (``deps``), the rendering of outbound's errors as HTTP answers (``errors``), and
the middleware that bounds bodies, rate-limits writes and logs requests.

May import ``services``, ``schemas``, ``domain``, ``config``, ``encryption``, ``exceptions`` and
``metrics``; it never speaks SQL nor a telephony platform's protocol: a provider's callback is
handed to the provider named in its path.
"""
