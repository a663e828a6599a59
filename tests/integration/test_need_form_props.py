"""Hypothesis over the need forms: whatever is typed, the answer is a redirect (a valid
form) or a 4xx with a message, never a 5xx; and a refused form writes nothing."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from core.db import get_engine, unit_of_work
from needs import duplicate_check
from needs.models import Beneficiary, Need
from tests.conftest import make_app
from tests.integration.auth import sign_in
from tests.integration.charity_helpers import organisation, staff, wish_form

FIELDS = ("key", "title", "item", "price", "category", "region", "story", "beneficiary",
          "pseudonym", "full_name", "id_number", "address", "consent_by", "consent_relation",
          "consent_on", "allow_photo")
text = st.one_of(st.text(max_size=40), st.sampled_from(
    ["", "0", "-1", "1e40", "NaN", "¥1,234.50", "99999999999999999999", "2999-02-30",
     "助学", "山东省/滨州市/邹平市", "37162620140506001X", "\x00", "<script>"]))
forms = st.fixed_dictionaries({}, optional={name: text for name in FIELDS})


def _counts(url):
    with unit_of_work(get_engine(url)) as s:
        return (s.exec(select(func.count()).select_from(Need)).one(),
                s.exec(select(func.count()).select_from(Beneficiary)).one())


def test_any_wish_form_is_a_redirect_or_a_4xx_never_a_5xx(clean_url):
    app = make_app(clean_url)
    org = organisation(clean_url, "邹平市齐明社工站")
    client = app.test_client()
    sign_in(client, staff(clean_url, "s@qm.cn", org))
    duplicate_check.forget_indexes()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(overrides=forms, drop=st.sets(st.sampled_from(FIELDS), max_size=4))
    def check(overrides, drop):
        data = {k: v for k, v in wish_form(key=overrides.get("key", "k")).items()
                if k not in drop}
        data.update(overrides)
        before = _counts(clean_url)
        response = client.post(f"/org/{org}/needs/new-wish", data=data)
        assert response.status_code < 500, data
        if response.status_code >= 400:
            assert response.status_code in (400, 422)
            assert 'role="alert"' in response.get_data(as_text=True)  # a message, beside a field
            assert _counts(clean_url) == before
        else:
            assert response.status_code == 303

    check()
    duplicate_check.forget_indexes()


def test_any_edit_form_is_a_redirect_or_a_4xx(clean_url):
    app = make_app(clean_url)
    org = organisation(clean_url, "邹平市齐明社工站")
    client = app.test_client()
    sign_in(client, staff(clean_url, "s@qm.cn", org))
    duplicate_check.forget_indexes()
    assert client.post(f"/org/{org}/needs/new-wish", data=wish_form()).status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        code = s.exec(select(Need.code)).one()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.fixed_dictionaries({}, optional={
        name: text for name in ("title", "amount", "story", "beneficiary")}))
    def check(data):
        response = client.post(f"/org/needs/{code}/edit", data=data)
        assert response.status_code in (303, 400, 422), data

    check()
    duplicate_check.forget_indexes()


def _kind_forms(clean_url, org):
    from tests.integration.need_kind_helpers import (
        fund,
        microgrant_form,
        project_form,
        qualify,
        sponsorship_form,
    )

    qualify(clean_url, org)
    fund_id = fund(clean_url)
    return {"project": project_form(holder=str(org)),
            "sponsorship": sponsorship_form(holder=str(org)),
            "microgrant": microgrant_form(fund_id)}


KIND_FIELDS = ("key", "title", "amount", "category", "region", "period_start", "period_end",
               "people", "budget", "holder", "filing", "per_year", "first_year", "years",
               "beneficiary", "id_number", "full_name", "consent_on", "fund", "urgency")


def test_any_project_sponsorship_or_microgrant_form_is_a_redirect_or_a_4xx(clean_url):
    app = make_app(clean_url)
    org = organisation(clean_url, "邹平市慈善总会")
    good = _kind_forms(clean_url, org)
    client = app.test_client()
    sign_in(client, staff(clean_url, "s@zp.cn", org))
    duplicate_check.forget_indexes()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(kind=st.sampled_from(sorted(good)),
           overrides=st.fixed_dictionaries({}, optional={n: text for n in KIND_FIELDS}),
           drop=st.sets(st.sampled_from(KIND_FIELDS), max_size=4))
    def check(kind, overrides, drop):
        data = {k: v for k, v in good[kind].items() if k not in drop}
        data.update(overrides)
        before = _counts(clean_url)
        response = client.post(f"/org/{org}/needs/new-{kind}", data=data)
        assert response.status_code < 500, (kind, data)
        if response.status_code >= 400:
            assert response.status_code in (400, 422)
            assert 'role="alert"' in response.get_data(as_text=True)
            assert _counts(clean_url) == before
        else:
            assert response.status_code == 303

    check()
    duplicate_check.forget_indexes()
