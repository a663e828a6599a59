"""Deny by default: every route outside a short public allow-list refuses an anonymous
visitor and a signed-in person whose roles do not allow it, so a new route cannot forget
its check. Walks app.url_map."""
from __future__ import annotations

import re

import pytest

from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from web.permissions import PUBLIC_BLUEPRINTS, PUBLIC_ENDPOINTS, access_of


def _url(rule) -> str:
    """A URL for the rule with dummy values (1 for ints, X-1 for strings)."""
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "X-1",
                  rule.rule)


def _guarded_rules(app):
    for rule in app.url_map.iter_rules():
        if access_of(app, rule.endpoint) != "public":
            yield rule


def test_every_endpoint_declares_its_access(clean_url):
    app = make_app(clean_url)
    undeclared = [r.endpoint for r in app.url_map.iter_rules() if access_of(app, r.endpoint) is None]
    assert not undeclared, f"routes without a permission check: {undeclared}"


def test_an_undeclared_route_is_refused(clean_url):
    app = make_app(clean_url)
    app.add_url_rule("/forgotten", endpoint="forgotten", view_func=lambda: "secret")
    assert app.test_client().get("/forgotten").status_code == 403


@pytest.fixture
def guarded(clean_url):
    app = make_app(clean_url)
    rules = list(_guarded_rules(app))
    assert rules, "expected some guarded routes"
    return app, rules


def test_anonymous_visitors_are_refused_everywhere_not_public(guarded):
    app, rules = guarded
    client = app.test_client()
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_url(rule), method=method)
            assert response.status_code in (302, 401, 403, 404), (rule.rule, method,
                                                                  response.status_code)
            if response.status_code == 302:
                assert "/account/sign-in" in response.headers["Location"]


def test_a_person_with_no_role_for_it_is_refused(guarded, clean_url):
    app, rules = guarded
    nobody = make_user(clean_url, "nobody@b.cn")  # signed in, no role at all
    client = app.test_client()
    sign_in(client, nobody)
    for rule in rules:
        access = access_of(app, rule.endpoint)
        if access == "signed_in":
            continue
        # The API's own operations take a bearer token, never the site's cookie: 401.
        refusals = (401,) if access.startswith("token:") else (403, 404)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_url(rule), method=method)
            assert response.status_code in refusals, (rule.rule, method, response.status_code)


def test_the_public_allow_list_is_short():
    assert len(PUBLIC_BLUEPRINTS) <= 8 and len(PUBLIC_ENDPOINTS) <= 10


def test_a_refusal_is_our_page_in_the_visitors_language(app, clean_url):
    from tests.integration.auth import make_user, sign_in

    client = app.test_client()
    sign_in(client, make_user(clean_url, "nobody@example.cn"))
    refused = client.get("/admin/match-offers/")
    assert refused.status_code == 403
    assert "没有权限" in refused.get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = client.get("/admin/match-offers/").get_data(as_text=True)
    assert "Your account may not see this page." in english and "没有权限" not in english
