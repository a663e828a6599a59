"""web.loading: the row a URL names, or the plain 404 page, or a NotFound with its message;
a row that is there marks nothing for rollback."""
from __future__ import annotations

import pytest
from werkzeug.exceptions import NotFound as PlainNotFound

from core.errors import NotFound, raised_user_errors
from core.users import User
from tests.integration.auth import make_user, sign_in
from web.loading import row_by_or_404, row_or_404


def test_a_row_that_is_there_is_returned_and_no_error_is_built(db):
    user = User(email="a@b.cn", name="甲", password_hash="x")
    db.add(user)
    db.flush()
    seen: list = []
    token = raised_user_errors.set(seen)
    try:
        missing = lambda: NotFound("找不到这笔捐赠")  # noqa: E731
        assert row_or_404(db, User, user.id, missing=missing) is user
        assert row_by_or_404(db, User.email, "a@b.cn", missing=missing) is user
    finally:
        raised_user_errors.reset(token)
    assert seen == []  # the request would still commit


def test_a_missing_row_is_a_plain_404_or_the_given_not_found(db):
    with pytest.raises(PlainNotFound):
        row_or_404(db, User, 424242)
    with pytest.raises(PlainNotFound):
        row_by_or_404(db, User.email, "nobody@b.cn")
    with pytest.raises(NotFound) as caught:
        row_or_404(db, User, 424242, missing=lambda: NotFound("找不到这笔捐赠"))
    assert caught.value.msgid == "找不到这笔捐赠"


def test_routes_check_permission_first_then_answer_404(app, clean_url):
    anonymous = app.test_client()
    assert anonymous.get("/admin/users/424242").status_code == 302  # to sign-in, not 404
    admin = app.test_client()
    sign_in(admin, make_user(clean_url, "admin@b.cn", ("admin", {})))
    plain = admin.get("/admin/users/424242")
    assert plain.status_code == 404
    with_message = admin.post("/staff/payments/424242/confirm")
    assert with_message.status_code == 404
    assert "找不到这笔捐赠" in with_message.get_data(as_text=True)
    assert admin.get("/org/needs/W-424242/edit").status_code == 404
