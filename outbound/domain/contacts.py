"""The contact fields the campaign API accepts (the seed's section 3.3)."""

CONTACT_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "email",
    "company",
    "job_title",
    "address",
    "city",
    "state",
    "country",
    "postal_code",
    "timezone",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
)
