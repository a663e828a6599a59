"""A job for the outbox tests: records whether it saw the organisation the request wrote."""
from core.audit import record
from core.db import get_engine, unit_of_work
from needs.models import Organisation


def note_organisation(organisation_id: int, database_url: str) -> None:
    with unit_of_work(get_engine(database_url)) as session:
        found = session.get(Organisation, organisation_id)
        record(session, "test.job_saw", f"organisation:{organisation_id}",
               name=found.name if found else None)
