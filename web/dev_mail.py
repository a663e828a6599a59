"""The development outbox (what `make run` sends instead of mail): in debug to anyone on
the developer's machine, otherwise to admins only."""
from __future__ import annotations

import functools

from flask import Blueprint, abort, current_app, render_template

from core import mail
from core.errors import UserError
from web.permissions import ACCESS, requires

bp = Blueprint("dev_mail", __name__, url_prefix="/dev/outbox")


def debug_or_admin(view):
    guarded = requires("mail.view_outbox")(view)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_app.debug:
            return view(*args, **kwargs)
        return guarded(*args, **kwargs)
    setattr(wrapper, ACCESS, "requires:mail.view_outbox")
    return wrapper


def _outbox():
    return mail.MailSettings.from_env().outbox


@bp.get("/")
@debug_or_admin
def index():
    return render_template("dev/outbox.html", entries=mail.list_outbox(_outbox()))


@bp.get("/<name>")
@debug_or_admin
def message(name: str):
    try:
        msg = mail.read_outbox(_outbox(), name)
    except UserError:
        abort(404)
    body = msg.get_body(preferencelist=("plain",))
    return render_template("dev/message.html", msg=msg, name=name,
                           text=body.get_content() if body is not None else "")
