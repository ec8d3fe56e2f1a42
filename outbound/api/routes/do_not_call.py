"""The account's do-not-call list."""

from fastapi import APIRouter, Query, Response, status

from outbound.api.deps import CurrentAccount, DatabaseDep
from outbound.api.errors import RESPONSES
from outbound.schemas.bodies import PhonesIn, SuppressedOut, SuppressedPage, SuppressedPhone
from outbound.services import do_not_call

router = APIRouter(tags=["do-not-call"])


@router.post("/dnc", response_model=SuppressedOut, responses=RESPONSES(400, 401))
def suppress(body: PhonesIn, account: CurrentAccount, database: DatabaseDep) -> SuppressedOut:
    """Never call these phones again; their pending calls become skipped."""
    return SuppressedOut(phones=do_not_call.suppress(database, account, body.phones))


@router.delete(
    "/dnc/{phone}", status_code=status.HTTP_204_NO_CONTENT, responses=RESPONSES(401, 404)
)
def unsuppress(phone: str, account: CurrentAccount, database: DatabaseDep) -> Response:
    """Allow calls to this phone again (E.164, `+` URL-encoded as `%2B`)."""
    do_not_call.unsuppress(database, account, phone)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/dnc", response_model=SuppressedPage, responses=RESPONSES(400, 401))
def list_suppressed(
    account: CurrentAccount,
    database: DatabaseDep,
    limit: int = Query(100, ge=1, le=do_not_call.MAX_PAGE),
    cursor: str | None = None,
) -> SuppressedPage:
    """The account's suppressed phones, in the phones' text order."""
    page = do_not_call.list_suppressed(database, account, cursor, limit)
    return SuppressedPage(
        phones=[
            SuppressedPhone(phone=phone, created_at=at, reason=reason)
            for phone, at, reason in page.items
        ],
        next_cursor=page.next_cursor,
    )
