"""Message ids are shown in the request's language through Flask-Babel, and the existing
UserError handler renders them."""
import shutil

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, render_template_string
from flask_babel import Babel

from core.identifiers import USCC_CHECK, IdentifierError, validate_uscc
from core.messages import TRANSLATIONS, MessageError, translate
from needs.uploads import UPLOAD_TOO_LARGE


@pytest.fixture
def app(tmp_path):
    """A bare app with the committed English catalog compiled now (as `make translations`)."""
    target = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, target)
    po = target / "en" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    with (po.parent / "messages.mo").open("wb") as fh:
        write_mo(fh, catalog)
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    from flask import request

    Babel(app, locale_selector=lambda: request.args.get("lang", "zh_CN"))
    return app


def test_text_follows_the_request_language(app):
    try:
        validate_uscc("91350100M000100Y44")
    except IdentifierError as exc:
        error = exc
    with app.test_request_context("/?lang=en"):
        assert error.text().startswith("The check character")
        assert render_template_string("{{ e.text() }}", e=error).startswith("The check")
    with app.test_request_context("/"):
        assert error.text() == USCC_CHECK


def test_parameters_are_filled_in_both_languages(app):
    error = MessageError(UPLOAD_TOO_LARGE, limit=10)
    assert error.message("zh_CN") == "文件过大（上限 10 MB）"
    assert error.message("en") == "The file is too large (limit 10 MB)"
    with app.test_request_context("/?lang=en"):
        assert error.text() == error.message("en")


def test_an_id_missing_from_the_catalog_falls_back_to_the_source_text():
    assert translate("没有翻译的句子", "en") == "没有翻译的句子"
