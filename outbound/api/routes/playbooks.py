"""Playbooks: what the agent says and does, created, read, changed and archived over HTTP."""

from fastapi import APIRouter, Query, Response, status

from outbound.api.deps import CurrentAccount, DatabaseDep
from outbound.api.errors import RESPONSES, parse_id
from outbound.schemas.playbooks import (
    PlaybookIn,
    PlaybookOut,
    PlaybookPatch,
    PlaybooksPage,
    playbook_view,
)
from outbound.services import playbooks

router = APIRouter(tags=["playbooks"])


@router.post(
    "/playbook",
    status_code=status.HTTP_201_CREATED,
    response_model=PlaybookOut,
    responses=RESPONSES(400, 401),
)
def create_playbook(
    body: PlaybookIn, account: CurrentAccount, database: DatabaseDep
) -> PlaybookOut:
    """A playbook of your account, for your campaigns' `playbook_id`."""
    return playbook_view(playbooks.create_playbook(database, account.id, body))


@router.get("/playbook", response_model=PlaybooksPage, responses=RESPONSES(400, 401))
def list_playbooks(
    account: CurrentAccount,
    database: DatabaseDep,
    limit: int = Query(50, ge=1, le=playbooks.MAX_PAGE),
    cursor: str | None = None,
) -> PlaybooksPage:
    """The account's playbooks, newest first; archived ones are left out."""
    page = playbooks.list_playbooks(database, account.id, cursor, limit)
    return PlaybooksPage(
        playbooks=[playbook_view(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.get("/playbook/{playbook_id}", response_model=PlaybookOut, responses=RESPONSES(401, 404))
def get_playbook(playbook_id: str, account: CurrentAccount, database: DatabaseDep) -> PlaybookOut:
    """The playbook, archived or not (`archived_at`)."""
    return playbook_view(playbooks.get_playbook(database, account.id, parse_id(playbook_id)))


@router.patch(
    "/playbook/{playbook_id}",
    response_model=PlaybookOut,
    responses=RESPONSES(400, 401, 404, 409),
)
def update_playbook(
    playbook_id: str, body: PlaybookPatch, account: CurrentAccount, database: DatabaseDep
) -> PlaybookOut:
    """The fields given replace the stored ones (a list whole); attempts placed afterwards use
    the new version. `409` once archived."""
    key = parse_id(playbook_id)
    return playbook_view(playbooks.update_playbook(database, account.id, key, body))


@router.delete(
    "/playbook/{playbook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=RESPONSES(401, 404),
)
def archive_playbook(playbook_id: str, account: CurrentAccount, database: DatabaseDep) -> Response:
    """Archive the playbook: no new campaign may use it (`403`); those running with it go on."""
    playbooks.archive_playbook(database, account.id, parse_id(playbook_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
