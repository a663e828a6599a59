"""Accounts for tests: a user with roles, and a client signed in as them."""
from __future__ import annotations

from core import accounts
from core.db import get_engine, unit_of_work

PASSWORD = "correct horse battery"


def make_user(url: str, email: str, *roles: tuple, name: str = "测试用户",
              password: str = PASSWORD) -> int:
    """roles: ("org_staff", {"organisation_id": 1}), ("admin", {}), …"""
    with unit_of_work(get_engine(url)) as s:
        user = accounts.create_user(s, email, name, password)
        for role, scope in roles:
            accounts.grant(s, user, role, **scope)
        return user.id


def sign_in(client, user_id: int) -> None:
    """Sign `client` in as the user (what a successful sign-in leaves in the session)."""
    from flask_login.utils import _create_identifier

    # Session protection is "strong": the session must carry the identifier of the
    # client's address and user agent, or Flask-Login drops it (the test client's are the
    # request-context defaults).
    with client.application.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session["_id"] = identifier
