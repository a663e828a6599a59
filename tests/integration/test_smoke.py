"""Load the demo data and render every page."""
import json

from core.db import get_engine, unit_of_work
from funds import ledger


def test_every_first_page_renders(demo_client):
    for url in ("/", "/needs", "/needs?page=2", "/healthz"):
        response = demo_client.get(url)
        assert response.status_code == 200, url
    home = demo_client.get("/").get_data(as_text=True)
    for name in ("一米阳光", "潍爱善行·慈心助学", "社区基金", "安心", "公益慈善创投大赛", "焕新乐园",
                 "情暖夕阳·幸福餐桌", "海丝护童"):
        assert name in home


def test_every_public_need_page_renders(demo_client, demo_url):
    from sqlmodel import select

    from needs.models import PUBLIC_STATES, Need

    with unit_of_work(get_engine(demo_url)) as s:
        codes = s.exec(select(Need.code, Need.state)).all()
    public = [c for c, state in codes if state in PUBLIC_STATES]
    hidden = [c for c, state in codes if state not in PUBLIC_STATES]
    assert len(public) > 60 and hidden
    for code in public:
        assert demo_client.get(f"/needs/{code}").status_code == 200, code
    for code in hidden:  # not verified: never shown
        assert demo_client.get(f"/needs/{code}").status_code == 404, code


def test_ledger_download_is_the_verified_chain(demo_client, demo_url):
    body = demo_client.get("/disclosure/ledger.jsonl").get_data(as_text=True)
    lines = body.splitlines()
    from funds.ledger_format import verify_lines

    verdict = verify_lines(lines)
    assert verdict.ok, verdict
    with unit_of_work(get_engine(demo_url)) as s:
        assert verdict.count == ledger.head(s).seq
    first = json.loads(lines[0])
    assert first["prev"] == "0" * 64 and first["seq"] == 1
