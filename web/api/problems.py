"""Errors as RFC 9457 problem details (application/problem+json), in the requested language,
with the offending query parameters named. Every refusal of the API goes through here."""
from __future__ import annotations

from flask import Response, json, request
from flask_babel import gettext

from core.errors import UserError
from web.api.schemas import FieldProblem, Problem

MEDIA_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """A refusal with its status, a title and detail (UserErrors, rendered per request
    language), and the fields it is about."""

    def __init__(self, status: int, title: UserError, detail: UserError,
                 fields: list[tuple[str, UserError]] | None = None):
        super().__init__(detail.msgid)
        self.status, self.title, self.detail = status, title, detail
        self.fields = fields or []


def problem_response(exc: ApiProblem, headers: dict[str, str] | None = None) -> Response:
    body = Problem(title=exc.title.render(gettext), status=exc.status,
                   detail=exc.detail.render(gettext), instance=request.path,
                   errors=[FieldProblem(field=f, detail=e.render(gettext))
                           for f, e in exc.fields])
    response = Response(json.dumps(body.model_dump(exclude_none=True)), exc.status,
                        mimetype=MEDIA_TYPE, headers=headers)
    response.vary.add("Accept-Language")
    return response


def bad_request(fields: list[tuple[str, UserError]]) -> ApiProblem:
    return ApiProblem(400, UserError("请求参数有误"),
                      UserError("请检查这些参数：%(fields)s", fields=", ".join(f for f, _ in fields)),
                      fields)


def not_found(detail: UserError | None = None) -> ApiProblem:
    return ApiProblem(404, UserError("找不到"), detail or UserError("没有这个地址"))


def too_many_requests() -> ApiProblem:
    return ApiProblem(429, UserError("请求过于频繁"), UserError("请稍后再试"))


def _field_message(error: dict) -> UserError:
    """A pydantic error, said in the user's language."""
    field = ".".join(str(p) for p in error.get("loc", ())) or "?"
    kind = error.get("type", "")
    if kind == "literal_error":
        allowed = (error.get("ctx") or {}).get("expected", "")
        return UserError("参数“%(field)s”应为以下之一：%(allowed)s", field=field, allowed=allowed)
    if kind.startswith("int_"):
        return UserError("参数“%(field)s”应为整数", field=field)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return UserError("参数“%(field)s”超出范围", field=field)
    if kind == "string_too_long":
        return UserError("参数“%(field)s”太长", field=field)
    return UserError("参数“%(field)s”的值无效", field=field)


def refuse_invalid_request(_req, _resp, validation_error, _instance, _adapter) -> None:
    """spectree's `before` hook: a query that fails its model is a 400 naming each field."""
    if validation_error is None:
        return
    fields, seen = [], set()
    for error in validation_error.errors():
        name = ".".join(str(p) for p in error.get("loc", ())) or "?"
        if name not in seen:
            seen.add(name)
            fields.append((name, _field_message(error)))
    raise bad_request(fields)
