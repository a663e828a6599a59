"""Reset and invitation tokens: signed, expiring, one purpose each, void after a password change."""
import pytest
from itsdangerous import URLSafeTimedSerializer

from core.tokens import (
    RESET_SALT,
    TOKEN_EXPIRED,
    TOKEN_INVALID,
    TokenError,
    invitation,
    make_invitation_token,
    make_reset_token,
    reset_token_user,
)

KEY = "test-secret"


class Passwords:
    def __init__(self):
        self.hashes = {7: "$argon2id$v=19$old"}

    def __call__(self, user_id):
        return self.hashes.get(user_id)


def _refused(message_id, *args, **kwargs):
    with pytest.raises(TokenError) as caught:
        (kwargs.pop("call"))(*args, **kwargs)
    assert caught.value.message_id == message_id
    assert caught.value.message("en") != caught.value.message("zh_CN")


def test_reset_token_names_its_user():
    passwords = Passwords()
    token = make_reset_token(KEY, 7, passwords(7))
    assert reset_token_user(KEY, token, passwords) == 7
    assert "argon2" not in token  # only a digest of the hash travels


def test_reset_token_is_void_once_the_password_changes():
    passwords = Passwords()
    token = make_reset_token(KEY, 7, passwords(7))
    passwords.hashes[7] = "$argon2id$v=19$new"
    _refused(TOKEN_INVALID, KEY, token, passwords, call=reset_token_user)


def test_reset_token_for_a_deleted_user_is_refused():
    passwords = Passwords()
    token = make_reset_token(KEY, 7, passwords(7))
    del passwords.hashes[7]
    _refused(TOKEN_INVALID, KEY, token, passwords, call=reset_token_user)


def test_expired_token_is_refused_as_expired(monkeypatch):
    import time

    passwords = Passwords()
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start - 7200)
    token = make_reset_token(KEY, 7, passwords(7))
    monkeypatch.setattr(time, "time", lambda: start)
    _refused(TOKEN_EXPIRED, KEY, token, passwords, call=reset_token_user)
    assert reset_token_user(KEY, token, passwords, max_age=3 * 3600) == 7


@pytest.mark.parametrize("token", ["", None, 12, "abc", "x" * 2000])
def test_garbage_is_refused(token):
    _refused(TOKEN_INVALID, KEY, token, Passwords(), call=reset_token_user)
    _refused(TOKEN_INVALID, KEY, token, call=invitation)


def test_altered_or_foreign_tokens_are_refused():
    passwords = Passwords()
    token = make_reset_token(KEY, 7, passwords(7))
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    _refused(TOKEN_INVALID, KEY, tampered, passwords, call=reset_token_user)
    _refused(TOKEN_INVALID, "another-key", token, passwords, call=reset_token_user)
    # A token signed with the right key and salt but a forged payload shape.
    forged = URLSafeTimedSerializer(KEY, salt=RESET_SALT).dumps({"u": "7", "p": "x"})
    _refused(TOKEN_INVALID, KEY, forged, passwords, call=reset_token_user)


def test_purposes_do_not_mix():
    passwords = Passwords()
    reset = make_reset_token(KEY, 7, passwords(7))
    invite = make_invitation_token(KEY, 3, "Staff@Example.org ", "org_staff")
    assert invitation(KEY, invite) == (3, "staff@example.org", "org_staff")
    _refused(TOKEN_INVALID, KEY, reset, call=invitation)
    _refused(TOKEN_INVALID, KEY, invite, passwords, call=reset_token_user)


def test_a_gift_return_link_names_its_case_and_nothing_else():
    from core.tokens import make_return_token, return_id

    token = make_return_token(KEY, 12)
    assert return_id(KEY, token) == 12
    _refused(TOKEN_INVALID, "another key", token, call=return_id)
    _refused(TOKEN_INVALID, KEY, make_invitation_token(KEY, 12, "a@b.cn", "org_staff"),
             call=return_id)
    _refused(TOKEN_INVALID, KEY, token, call=invitation)
    _refused(TOKEN_EXPIRED, KEY, token, max_age=-1, call=return_id)
