"""`Idempotency-Key` on the API's POSTs (core.idempotency keeps the keys): the same key from
the same token for the same request within 24 hours answers the first response, status and
body, and creates nothing; the same key for another request is a 422.

"The same request" is the method, the path and the body as parsed: JSON compared by value
(key order and spacing do not matter), form fields by value and uploaded files by their
SHA-256 (a multipart boundary differs on every send)."""
from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable

from flask import current_app, g, make_response, request

from core import idempotency
from core.errors import UserError
from web.api.problems import ApiProblem, bad_request
from web.db import db_session

HEADER = "Idempotency-Key"


def fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields = sorted(request.form.items(multi=True))
        files = []
        for name, upload in sorted(request.files.items(multi=True), key=lambda kv: kv[0]):
            data = upload.stream.read()
            upload.stream.seek(0)
            files.append((name, upload.filename or "", hashlib.sha256(data).hexdigest()))
        digest.update(json.dumps([fields, files], ensure_ascii=False).encode())
    else:
        parsed = request.get_json(silent=True)
        digest.update(json.dumps(parsed, sort_keys=True, ensure_ascii=False).encode()
                      if parsed is not None else request.get_data())
    return digest.hexdigest()


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= idempotency.MAX_KEY or not key.isascii() or not key.isprintable():
        raise bad_request([(HEADER, UserError("Idempotency-Key 应为 1 到 255 个可打印 ASCII 字符"))])
    return key


def _replay(stored: idempotency.Stored):
    response = current_app.response_class(stored.body, stored.status,
                                          mimetype=stored.content_type or None)
    if stored.location:
        response.headers["Location"] = stored.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable) -> Callable:
    """Inside token_required (it needs g.api_token): claim the key, run, keep the answer."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = _key()
        if key is None:
            return view(*args, **kwargs)
        session = db_session()
        try:
            claimed = idempotency.claim(session, g.api_token.id, key, fingerprint())
        except idempotency.KeyReused:
            raise ApiProblem(422, UserError("Idempotency-Key 已用于另一个请求"),
                             UserError("同一个 Idempotency-Key 只能用于同一个请求；请换一个新的"),
                             [(HEADER, UserError("已用于另一个请求"))]) from None
        except idempotency.KeyInFlight:
            raise ApiProblem(409, UserError("请求正在处理"),
                             UserError("使用同一个 Idempotency-Key 的请求尚未完成")) from None
        if isinstance(claimed, idempotency.Stored):
            return _replay(claimed)
        response = make_response(view(*args, **kwargs))
        if response.status_code < 400:  # a refusal rolls the claim back: a retry runs again
            idempotency.store(session, claimed, response.status_code,
                              response.get_data(as_text=True), response.mimetype or "",
                              response.headers.get("Location", ""))
        return response
    return wrapper
