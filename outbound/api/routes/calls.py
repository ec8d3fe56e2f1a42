"""One call, and the results an agent runtime posts for its attempts."""

from datetime import timedelta

from fastapi import APIRouter, Path, Request

from outbound.api.deps import CurrentAccount, DatabaseDep
from outbound.api.errors import RESPONSES, parse_id
from outbound.clock import utcnow
from outbound.config import Settings
from outbound.schemas.records import CallOut, call_view
from outbound.schemas.results import ResultIn, ResultRecorded
from outbound.services import campaigns, results

router = APIRouter(tags=["calls"])


@router.get("/call/{call_id}", response_model=CallOut, responses=RESPONSES(401, 404))
def get_call(call_id: str, account: CurrentAccount, database: DatabaseDep) -> CallOut:
    """The call with every attempt's full result, transcript included."""
    return call_view(campaigns.get_call(database, account, parse_id(call_id)))


@router.post(
    "/call/{call_id}/attempts/{number}/result",
    response_model=ResultRecorded,
    responses=RESPONSES(400, 401, 404, 409),
)
def post_result(
    call_id: str,
    body: ResultIn,
    request: Request,
    account: CurrentAccount,
    database: DatabaseDep,
    number: int = Path(ge=1, le=10_000),
) -> ResultRecorded:
    """The conversation's result of one attempt, from an agent runtime that the provider does
    not carry results for (Twilio). Taken while the attempt is open and up to
    `OUTBOUND_RESULT_GRACE_SECONDS` after it ended; its disposition then decides the call, as
    long as the call has not started another attempt."""
    settings: Settings = request.app.state.settings
    results.post_result(
        database,
        account,
        parse_id(call_id),
        number,
        body.to_result(),
        utcnow(),
        timedelta(seconds=settings.result_grace_seconds),
    )
    return ResultRecorded(recorded=True)
