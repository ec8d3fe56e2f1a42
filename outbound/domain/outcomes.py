"""Reading a provider's word on how a call ended."""

from outbound.domain.statuses import Outcome

MACHINE_PREFIXES = ("machine", "fax")


def resolve_outcome(outcome: Outcome, answered_by: str | None) -> Outcome:
    """An answered call that an answering machine picked up is a voicemail."""
    if outcome is Outcome.ANSWERED and answered_by and answered_by.startswith(MACHINE_PREFIXES):
        return Outcome.VOICEMAIL
    return outcome
