"""Contacts, as stored for the account."""

from fastapi import APIRouter

from outbound.api.deps import CurrentAccount, DatabaseDep
from outbound.api.errors import RESPONSES, parse_id
from outbound.schemas.bodies import ContactOut
from outbound.services import campaigns

router = APIRouter(tags=["contacts"])


@router.get("/contact/{contact_id}", response_model=ContactOut, responses=RESPONSES(401, 404))
def get_contact(contact_id: str, account: CurrentAccount, database: DatabaseDep) -> ContactOut:
    return ContactOut.model_validate(campaigns.get_contact(database, account, parse_id(contact_id)))
