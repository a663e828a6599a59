"""The giving demo: an approved 配捐 offer whose meter has moved, and the demo donor's
confirmed gifts with receipts and a disbursement on their "善款去向" page."""
from __future__ import annotations

import re

from sqlmodel import Session, select

from core.db import get_engine
from demo.h8a_data import PASSWORD
from donors.giving_models import GiftReceipt
from donors.match_models import MatchOffer, MatchShare
from funds import ledger


def _signed_in(app, email):
    client = app.test_client()
    assert client.post("/account/sign-in", data={"email": email,
                                                  "password": PASSWORD}).status_code == 303
    return client


def test_the_demo_offer_has_matched_gifts_and_its_meter_shows_it(demo_app, demo_url):
    with Session(get_engine(demo_url)) as s:
        offer = s.exec(select(MatchOffer)).one()
        shares = s.exec(select(MatchShare)).all()
        assert offer.status == "approved" and offer.used == sum(x.amount for x in shares) > 0
        assert all(x.amount <= offer.per_gift_cap for x in shares)
        assert ledger.verify(s).ok
    page = demo_app.test_client().get(f"/match-offers/{offer.code}").get_data(as_text=True)
    left = (offer.total_cap - offer.used).format()  # the columns read back as Money
    assert "配捐剩余" in page and left in page
    staff = _signed_in(demo_app, "enterprise-staff@demo.shanlian")
    mine = staff.get(f"/enterprise/{offer.enterprise_id}/match-offers").get_data(as_text=True)
    assert offer.code in mine and "已批准" in mine


def test_the_demo_donor_sees_where_their_money_went(demo_app, demo_url):
    donor = _signed_in(demo_app, "donor@demo.shanlian")
    html = donor.get("/account/giving/").get_data(as_text=True)
    assert html.count('class="receipt-link"') == 4
    assert "助学物资第一批采购" in html
    link = re.search(r'class="receipt-link" href="([^"]+)"', html).group(1)
    assert donor.get(link).mimetype == "application/pdf"
    with Session(get_engine(demo_url)) as s:
        number = s.exec(select(GiftReceipt.number).order_by(GiftReceipt.id)).first()
    public = demo_app.test_client().get(f"/receipts/{number}").get_data(as_text=True)
    assert "助学物资第一批采购" in public and "演示捐赠人" not in public
