"""Schemathesis over every operation of /api/openapi.json, against the app with the demo
data: no server error, and every response (status, content type, headers, body) as the
document says. The token operations (/api/v1/me/…) are called with a write token of a demo
organisation, or a read token of a demo enterprise for the enterprise's reads. Examples are
bounded per operation so the run stays within a minute or two."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from web.security import limiter


@pytest.fixture(scope="module")
def demo_tokens(demo_url) -> dict[str, str]:
    """Tokens of the demo's 滨州市慈善总会 (write) and 鲁北 enterprise (read), made by their
    demo admin and reviewer. This module's demo data is its own (reloaded per module)."""
    from sqlmodel import select

    from core import api_tokens
    from core.db import get_engine, unit_of_work
    from core.users import Membership

    with unit_of_work(get_engine(demo_url)) as s:
        admin = s.exec(select(Membership).where(Membership.role == "org_admin")).first()
        reviewer = s.exec(select(Membership).where(Membership.role == "enterprise_reviewer")
                          ).first()
        return {
            "organisation": api_tokens.create(s, "organisation", admin.organisation_id,
                                              name="fuzz", scope="write",
                                              actor_id=admin.user_id).secret,
            "enterprise": api_tokens.create(s, "enterprise", reviewer.enterprise_id,
                                            name="fuzz", scope="read",
                                            actor_id=reviewer.user_id).secret}


ENTERPRISE_PATHS = ("/api/v1/me/pledges", "/api/v1/me/proposals", "/api/v1/me/report")


def _auth(path: str, tokens: dict[str, str]) -> dict[str, str]:
    if not path.startswith("/api/v1/me"):
        return {}
    kind = "enterprise" if path in ENTERPRISE_PATHS else "organisation"
    return {"Authorization": f"Bearer {tokens[kind]}"}


@pytest.fixture(scope="module")
def api_schema(demo_app):
    demo_app.config["API_RATE_LIMIT"] = "100000/minute"  # the fuzzer is one client
    demo_app.config["API_TOKEN_RATE_LIMIT"] = "100000/minute"
    limiter.reset()
    yield schemathesis.openapi.from_wsgi("/api/openapi.json", demo_app)
    demo_app.config.pop("API_RATE_LIMIT", None)
    demo_app.config.pop("API_TOKEN_RATE_LIMIT", None)


SETTINGS = settings(max_examples=30, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _conforms(operation, headers: dict[str, str], seen: set[int]):
    @SETTINGS
    @given(case=operation.as_strategy())
    def conforms(case):
        # A programme code or region the schema allows but the data does not know is
        # refused with a 400 naming the field, so "schema-valid data is accepted" cannot
        # hold for them; every other check runs.
        response = case.call_and_validate(headers=headers,
                                          excluded_checks=[positive_data_acceptance])
        seen.add(response.status_code)
    return conforms


def test_every_operation_conforms(api_schema, demo_tokens):
    # Driven by hand rather than by schemathesis' pytest plugin (its lazy fixture loader
    # does not run under the pytest this suite uses).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 17
    assert any(op.path == "/api/v1/me/needs" and op.method.upper() == "POST"
               for op in operations)
    answered: dict[tuple[str, str], set[int]] = {}
    for operation in operations:
        seen = answered.setdefault((operation.method.upper(), operation.path), set())
        _conforms(operation, _auth(operation.path, demo_tokens), seen)()
    # The tokens were taken: every token read was answered, not refused.
    for path in ("/api/v1/me", "/api/v1/me/needs", *ENTERPRISE_PATHS):
        assert 200 in answered[("GET", path)], (path, answered[("GET", path)])
