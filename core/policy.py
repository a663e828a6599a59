"""Who may do what, in one place, deny by default.

POLICY maps an action to the roles that may take it and the scope each role's membership
must cover: ANYWHERE (no object needed), or the object's organisation, enterprise or fund,
or a region that contains the object's region (a verifier of 山东省/滨州市 covers every
need in 滨州, not one in 潍坊). A role not listed for an action may not take it; an action
not listed is a programming error, not a silent "no".

`can(user, action, obj)` takes a `Principal` (a user id and their memberships, loaded
once per request by `principal_for`) or None for the public."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, select

from core.regions import within
from core.users import Membership, User

ANYWHERE = "anywhere"
ORGANISATION = "organisation"
ENTERPRISE = "enterprise"
FUND = "fund"
REGION = "region"

_ORG_PEOPLE = {"org_staff": ORGANISATION, "org_admin": ORGANISATION}
_ENTERPRISE_PEOPLE = {"enterprise_staff": ENTERPRISE, "enterprise_reviewer": ENTERPRISE}

POLICY: dict[str, dict[str, str]] = {
    # donors
    "donation.create": {"donor": ANYWHERE},
    "donation.view_own": {"donor": ANYWHERE},
    # charity organisations and social-work stations
    "need.create": _ORG_PEOPLE,
    "need.edit": _ORG_PEOPLE,
    "need.submit": _ORG_PEOPLE,
    "beneficiary.create": _ORG_PEOPLE,
    "evidence.upload": _ORG_PEOPLE,
    "disbursement.record": _ORG_PEOPLE,  # issue 8: organisation staff record payouts
    "grant.request": _ORG_PEOPLE,  # ask a community fund for a 小急难 grant for own need
    "need.cancel": {"org_admin": ORGANISATION},  # its donors then decide where their gifts go
    "organisation.manage_staff": {"org_admin": ORGANISATION},
    # verifiers, in their 市 or 县
    "need.verify": {"verifier": REGION},
    "need.reject": {"verifier": REGION},
    "beneficiary.view_private": {"verifier": REGION},
    "duplicate.resolve": {"verifier": REGION},
    # donor enterprises
    "pledge.create": _ENTERPRISE_PEOPLE,
    "pledge.view": _ENTERPRISE_PEOPLE,
    "pledge.pay": _ENTERPRISE_PEOPLE,
    "match.review": {"enterprise_reviewer": ENTERPRISE},
    "enterprise.manage_staff": {"enterprise_reviewer": ENTERPRISE},
    # community-fund managers, per fund
    "grant.approve": {"fund_manager": FUND},
    "grant.reject": {"fund_manager": FUND},
    "fund.view_queue": {"fund_manager": FUND},
    # platform administrators
    "organisation.approve": {"admin": ANYWHERE},
    "enterprise.approve": {"admin": ANYWHERE},
    "programme.manage": {"admin": ANYWHERE},
    "audit.view": {"admin": ANYWHERE},
    "membership.grant": {"admin": ANYWHERE},
    # ---- h10: matching in the platform
    "matching.run": {"admin": ANYWHERE},
    "matching.view": {"admin": ANYWHERE, "enterprise_reviewer": ANYWHERE,
                      "fund_manager": ANYWHERE},
    "pledge.confirm_payment": {"admin": ANYWHERE},
    "grant.review": {"fund_manager": FUND},
    # ---- h9: platform finance (bank transfers, statements, refunds)
    "payment.confirm": {"admin": ANYWHERE},
    # ---- h-give2: 配捐 offers (an enterprise proposes, an admin approves)
    "match_offer.create": _ENTERPRISE_PEOPLE,
    "match_offer.view": _ENTERPRISE_PEOPLE,
    "match_offer.approve": {"admin": ANYWHERE},
    # ---- hapi: API tokens of an organisation or enterprise (web/api, core/api_tokens)
    "api_token.manage": {"org_admin": ORGANISATION, "enterprise_reviewer": ENTERPRISE},
    "refund.record": {"admin": ANYWHERE},  # a bank transfer's money sent back by staff
    # ---- h8a
    "mail.view_outbox": {"admin": ANYWHERE},
}


@dataclass(frozen=True)
class Principal:
    user_id: int
    memberships: tuple[Membership, ...] = ()


def principal_for(session: Session, user: User | int | None) -> Principal | None:
    if user is None:
        return None
    user_id = user if isinstance(user, int) else user.id
    rows = session.exec(select(Membership).where(Membership.user_id == user_id)).all()
    return Principal(user_id=user_id, memberships=tuple(rows))


def can(user: Principal | None, action: str, obj=None) -> bool:
    """May this person take `action` (on `obj`)? False unless a membership says yes."""
    if action not in POLICY:
        raise ValueError(f"unknown action {action!r}: add it to core.policy.POLICY")
    if user is None:
        return False
    allowed = POLICY[action]
    return any(_covers(allowed[m.role], m, obj) for m in user.memberships if m.role in allowed)


def allowed_actions(user: Principal | None, obj=None) -> list[str]:
    return [action for action in POLICY if can(user, action, obj)]


def _covers(scope: str, membership: Membership, obj) -> bool:
    if scope == ANYWHERE:
        return True
    if obj is None:
        return False  # a scoped right needs the object it is scoped to
    if scope == ORGANISATION:
        return _matches(membership.organisation_id, _ids(obj, "organisation"))
    if scope == ENTERPRISE:
        return _matches(membership.enterprise_id, _ids(obj, "enterprise"))
    if scope == FUND:
        return _matches(membership.fund_id, _ids(obj, "communityfund"))
    if scope == REGION:
        region = getattr(obj, "region", None)
        return bool(membership.region and isinstance(region, str)
                    and within(region, membership.region))
    return False


def _matches(scope_id: int | None, ids: Iterable[int | None]) -> bool:
    return scope_id is not None and scope_id in set(ids)


def _ids(obj, table: str) -> list[int | None]:
    """The object's own id if it is a row of `table`, else its foreign key to it
    (a need's organisation_id, a pledge's enterprise_id, an allocation's fund_id)."""
    if getattr(obj, "__tablename__", None) == table:
        return [getattr(obj, "id", None)]
    column = {"communityfund": "fund_id"}.get(table, f"{table}_id")
    return [getattr(obj, column, None)]
