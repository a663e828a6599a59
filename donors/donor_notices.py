"""Who to tell about a gift, and the notifications of its life: confirmed, disbursed,
evidenced, a decision to make. Written in the unit of work of the event (core.notify)."""
from __future__ import annotations

from sqlmodel import Session, select

from core.money import Money
from core.notify import Notification, notify
from core.users import User
from donors.giving_models import GiftPayment
from donors.models import Donation, Donor
from needs.models import Need


def recipient(session: Session, donation: Donation,
              payment: GiftPayment | None = None) -> tuple[int | None, str, str]:
    """(user id, email, locale): a signed-in donor's account, or a guest's email if they
    left one (a guest with only a mobile number cannot be reached: "", nothing sent)."""
    donor = session.get(Donor, donation.donor_id) if donation.donor_id else None
    if donor is not None and donor.user_id is not None:
        user = session.get(User, donor.user_id)
        if user is not None and user.active:
            return user.id, user.email, user.locale
    payment = payment or session.exec(select(GiftPayment).where(
        GiftPayment.donation_id == donation.id)).first()
    contact = payment.contact if payment is not None else ""
    return None, contact if "@" in contact else "", "zh_CN"


def tell(session: Session, donation: Donation, kind: str, key: str, link: str = "",
         payment: GiftPayment | None = None, **params) -> Notification | None:
    user_id, email, locale = recipient(session, donation, payment)
    return notify(session, key, kind, user_id=user_id, email=email, locale=locale,
                  link=link or ("/account/" if user_id else ""), **params)


def gift_confirmed(session: Session, donation: Donation,
                   payment: GiftPayment | None = None) -> Notification | None:
    need = session.get(Need, donation.need_id)
    return tell(session, donation, "gift_confirmed", f"gift_confirmed:donation:{donation.id}",
                link=f"/needs/{need.code}", payment=payment, need=need.title,
                amount=Money.fen(donation.amount))


NO_AMOUNT = Money.fen(0)  # evidence carries no amount


def need_event(session: Session, need_id: int, kind: str, ref: str, amount: Money = NO_AMOUNT,
               paid_to: str = "") -> int:
    """Tell every donor whose confirmed gift is on the need that it was disbursed or
    evidenced (`ref`: the disbursement or evidence). Returns how many were written."""
    if kind not in ("gift_disbursed", "gift_evidenced"):
        raise ValueError(kind)
    need = session.get(Need, need_id)
    if need is None:
        return 0
    gifts = session.exec(select(Donation).where(Donation.need_id == need_id,
                                                Donation.status == "paid",
                                                Donation.donor_id.is_not(None))
                         .order_by(Donation.id)).all()
    written = 0
    for donation in gifts:
        row = tell(session, donation, kind, f"{kind}:{ref}:donation:{donation.id}",
                   link=f"/needs/{need.code}", need=need.title, amount=Money.fen(amount),
                   paid_to=paid_to)
        written += row is not None
    return written
