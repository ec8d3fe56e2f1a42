"""The dashboard: a static page at ``/`` that signs in with a token and reads the JSON API.

The page and its files need no token; every piece of data it shows comes from the API, which
does. Plain HTML, CSS and one hand-written JavaScript module: nothing is built at run time.
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from outbound.exceptions import NotFound

STATIC = Path(__file__).resolve().parent.parent / "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Only the files shipped beside the package are served, whatever the path asks for.
FILES = frozenset(p.name for p in STATIC.iterdir() if p.suffix in MEDIA_TYPES)
HEADERS = {
    "Cache-Control": "no-cache",  # revalidate, so an upgraded server serves its own page
    "X-Content-Type-Options": "nosniff",
}
PAGE_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(tags=["dashboard"], include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
def dashboard() -> FileResponse:
    return FileResponse(
        STATIC / "index.html", media_type=MEDIA_TYPES[".html"], headers=PAGE_HEADERS
    )


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static_file(name: str) -> FileResponse:
    if name not in FILES:
        raise NotFound("no such file")
    path = STATIC / name
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=HEADERS)
