"""Signed, expiring tokens for links sent by mail: password reset and invitations.

Built on itsdangerous' URLSafeTimedSerializer with one salt per purpose, so a token made
for an invitation is refused as a reset token and the other way round. A reset token also
carries a fingerprint of the user's current password hash: once the password changes
(the reset was used, or the user changed it themselves) every earlier link stops working.
"""
from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from core.messages import N_, MessageError

RESET_MAX_AGE = 60 * 60  # a reset link works for one hour
INVITATION_MAX_AGE = 7 * 24 * 60 * 60  # an invitation for a week
RESET_SALT = "shanlian.password-reset"
INVITATION_SALT = "shanlian.invitation"

TOKEN_EXPIRED = N_("链接已过期，请重新申请")
TOKEN_INVALID = N_("链接无效或已被使用")


class TokenError(MessageError):
    """A link that is forged, altered, expired, for another purpose, or already used."""


def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    if not secret_key:
        raise ValueError("a secret key is required to sign tokens")
    return URLSafeTimedSerializer(secret_key, salt=salt)


def _fingerprint(password_hash: str) -> str:
    # Only a digest goes into the (readable, merely signed) token, never the hash itself.
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _load(secret_key: str, salt: str, token: object, max_age: int) -> dict:
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise TokenError(TOKEN_INVALID)
    try:
        data = _serializer(secret_key, salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError(TOKEN_EXPIRED) from exc
    except BadSignature as exc:
        raise TokenError(TOKEN_INVALID) from exc
    if not isinstance(data, dict):
        raise TokenError(TOKEN_INVALID)
    return data


def make_reset_token(secret_key: str, user_id: int, password_hash: str) -> str:
    return _serializer(secret_key, RESET_SALT).dumps(
        {"u": user_id, "p": _fingerprint(password_hash)})


def reset_token_user(secret_key: str, token: object, password_hash_of,
                     max_age: int = RESET_MAX_AGE) -> int:
    """The user id a reset token was made for. `password_hash_of(user_id)` returns that
    user's current password hash (None if there is no such user); a token made before
    the password last changed is refused."""
    data = _load(secret_key, RESET_SALT, token, max_age)
    user_id = data.get("u")
    if not isinstance(user_id, int):
        raise TokenError(TOKEN_INVALID)
    current = password_hash_of(user_id)
    if current is None or not hmac.compare_digest(str(data.get("p", "")),
                                                  _fingerprint(current)):
        raise TokenError(TOKEN_INVALID)
    return user_id


def make_invitation_token(secret_key: str, organisation_id: int, email: str,
                          role: str) -> str:
    return _serializer(secret_key, INVITATION_SALT).dumps(
        {"o": organisation_id, "e": email.strip().lower(), "r": role})


def invitation(secret_key: str, token: object,
               max_age: int = INVITATION_MAX_AGE) -> tuple[int, str, str]:
    """(organisation id, e-mail, role) of a valid invitation token."""
    data = _load(secret_key, INVITATION_SALT, token, max_age)
    organisation_id, email, role = data.get("o"), data.get("e"), data.get("r")
    if not (isinstance(organisation_id, int) and isinstance(email, str)
            and isinstance(role, str)):
        raise TokenError(TOKEN_INVALID)
    return organisation_id, email, role


RETURN_SALT = "shanlian.gift-return"
RETURN_MAX_AGE = 90 * 24 * 60 * 60  # the 30-day decision, then the outcome stays readable


def make_return_token(secret_key: str, return_id: int) -> str:
    """The guest's link to decide what happens to a gift whose need closed."""
    return _serializer(secret_key, RETURN_SALT).dumps({"g": return_id})


def return_id(secret_key: str, token: object, max_age: int = RETURN_MAX_AGE) -> int:
    data = _load(secret_key, RETURN_SALT, token, max_age)
    value = data.get("g")
    if not isinstance(value, int) or isinstance(value, bool):
        raise TokenError(TOKEN_INVALID)
    return value
