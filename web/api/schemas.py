"""The API's documents, as pydantic models: the OpenAPI schemas are generated from them and
every response is one of them (built, and so validated, by the views; spectree validates the
bodies of the views that return anything else). Amounts are integer fen (`*_fen`) with
the yuan text beside them; regions are shown at county level, as on the public pages; a
beneficiary is only a pseudonym and an age band."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from needs.models import CATEGORIES, NEED_KINDS, PUBLIC_STATES
from readside.browse import SORTS

Kind = Literal[NEED_KINDS]  # type: ignore[valid-type]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]
State = Literal[PUBLIC_STATES]  # type: ignore[valid-type]
Sort = Literal[SORTS]  # type: ignore[valid-type]


MAX_LIMIT = 100
CURSOR_CHARS = 500  # ours are about 100–200 characters
CURSOR_HELP = ("Opaque: copy it from the previous page's `next` link, which keeps the same "
               "filters. A cursor of another query, or altered, is a 400.")
NEXT_HELP = ("The next page (same filters, a keyset cursor), or null on the last. Rows "
             "added meanwhile neither shift nor repeat what was already listed.")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ query strings ---

class Lang(BaseModel):
    lang: Literal["zh_CN", "en"] | None = Field(
        None, description="Language of messages (else Accept-Language, else Chinese)")


class NeedQuery(Lang):
    q: str | None = Field(None, max_length=200,
                          description="Forgiving search: typos, pinyin (zhuxue, zx), 繁體")
    programme: str | None = Field(None, max_length=40, description="Programme code")
    kind: Kind | None = None
    category: Category | None = None
    state: State | None = None
    region: str | None = Field(None, max_length=200, description="省[/市[/县]]")
    province: str | None = Field(None, max_length=40, description="Or the region level by level")
    city: str | None = Field(None, max_length=40)
    county: str | None = Field(None, max_length=40)
    urgency: int | None = Field(None, ge=1, le=5, description="At least this urgent")
    sort: Sort | None = Field(None, description="Default: relevance with q, else urgency")
    cursor: str | None = Field(None, max_length=CURSOR_CHARS, description=CURSOR_HELP)
    limit: int | None = Field(None, ge=1, le=MAX_LIMIT, description="Rows a page (default 20)")


class PageQuery(Lang):
    cursor: str | None = Field(None, max_length=CURSOR_CHARS, description=CURSOR_HELP)
    limit: int | None = Field(None, ge=1, le=MAX_LIMIT, description="Rows a page (default 50)")


class LedgerQuery(PageQuery):
    before: int | None = Field(None, ge=1, le=2**31 - 1,
                               description="Start with the transactions whose seq is below "
                                           "this (a cursor, when given, wins)")
    kind: str | None = Field(None, max_length=40, pattern=r"^[a-z_]+$")


TREE_SIZE = 2**63 - 1  # a tree size or seq beyond 64 bits is refused, never sent to SQL


class InclusionQuery(Lang):
    seq: int = Field(ge=1, le=TREE_SIZE, description="The transaction (1-based)")
    size: int = Field(ge=1, le=TREE_SIZE, description="The tree size (a checkpoint's size)")


class ConsistencyQuery(Lang):
    model_config = ConfigDict(populate_by_name=True)
    from_: int = Field(alias="from", ge=1, le=TREE_SIZE, description="The older tree size")
    to: int = Field(ge=1, le=TREE_SIZE, description="The newer tree size")


# ---------------------------------------------------------------------- documents ---

class Money(Strict):
    fen: int = Field(description="Integer fen (1/100 yuan)")
    text: str = Field(description="Shown in yuan, e.g. ¥150.00")


class NeedSummary(Strict):
    code: str
    kind: Kind
    title: str
    category: str
    region: str = Field(description="County level: 省市县")
    programme: str | None = Field(description="Programme code")
    urgency: int
    people: int
    deadline: date | None
    state: State
    posted_at: datetime
    amount: Money
    funded: Money
    disbursed: Money
    whole: bool = Field(description="Claimed whole by one donor (微心愿)")
    url: str
    html_url: str


class NeedList(Strict):
    items: list[NeedSummary]
    total: int = Field(description="Rows matching the filters, on every page")
    truncated: bool = Field(description="The search found more matches than are combined")
    next: str | None = Field(description=NEXT_HELP)


class Beneficiary(Strict):
    pseudonym: str
    age_band: str


class Gift(Strict):
    name: str = Field(description="Masked unless the donor chose to be named")
    amount: Money


class EnterpriseAllocation(Strict):
    enterprise: str
    enterprise_name: str
    pledge: str
    amount: Money
    ledger_seq: int | None


class FundGrant(Strict):
    fund: str
    fund_name: str
    amount: Money
    ledger_seq: int | None


class EvidenceLink(Strict):
    id: int
    kind: str
    caption: str
    content_type: str
    sha256: str
    disbursement: int | None
    url: str


class DisbursementRow(Strict):
    id: int
    amount: Money
    paid_to: str
    memo: str
    at: datetime
    ledger_seq: int | None


class MilestoneRow(Strict):
    seq: int
    title: str
    amount: Money
    due: date | None
    status: Literal["done", "due", "overdue"]


class NeedDetail(NeedSummary):
    story: str
    organisation: str
    beneficiary: Beneficiary | None
    donor_count: int
    donors: list[Gift]
    allocations: list[EnterpriseAllocation]
    grants: list[FundGrant]
    disbursements: list[DisbursementRow]
    evidence: list[EvidenceLink]
    milestones: list[MilestoneRow]


class Programme(Strict):
    code: str
    name: str
    summary: str
    organiser: str
    region: str
    needs: int
    amount: Money
    funded: Money
    url: str


class ProgrammeList(Strict):
    items: list[Programme]
    next: str | None = Field(description=NEXT_HELP)


class Fund(Strict):
    code: str
    name: str
    region: str
    programme: str | None
    balance: Money
    per_grant_cap: Money | None
    need_kinds: list[str]
    html_url: str


class FundList(Strict):
    items: list[Fund]
    total: int
    next: str | None = Field(description=NEXT_HELP)


class Enterprise(Strict):
    code: str
    name: str
    region: str
    pledged: Money
    paid_in: Money
    html_url: str


class EnterpriseList(Strict):
    items: list[Enterprise]
    next: str | None = Field(description=NEXT_HELP)


class Totals(Strict):
    needs: int
    money_in: Money
    matched: Money
    disbursed: Money
    held: Money
    funds: int
    fund_balance: Money
    enterprises_paid: Money


class Posting(Strict):
    account: str = Field(description="type:id; a donor only by an opaque id")
    label: str
    amount: Money


class Transaction(Strict):
    seq: int
    at: datetime
    kind: str
    ref: str
    memo: str
    hash: str
    postings: list[Posting]


class LedgerPage(Strict):
    items: list[Transaction]
    head: int = Field(description="The newest seq")
    next: str | None = Field(description="Older transactions, or null at the start")


class Checkpoint(Strict):
    origin: str
    size: int = Field(description="How many transactions the signed tree holds")
    root: str = Field(description="RFC 9162 Merkle root of the first `size` transactions, hex")
    issued_at: datetime
    note: str = Field(description="The C2SP signed note, exactly as /disclosure/checkpoint serves it")
    verifier_key: str = Field(description="The Ed25519 verifier key (Go sumdb/note encoding)")


class InclusionProof(Strict):
    seq: int
    size: int
    leaf: str = Field(description="The transaction's hash (the leaf's 32 bytes), hex")
    path: list[str] = Field(description="RFC 9162 §2.1.3 audit path, hex, leaf upwards")


class ConsistencyProof(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: int = Field(alias="from")
    to: int
    path: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof, hex")


class Index(Strict):
    links: dict[str, str]


class FieldProblem(Strict):
    field: str
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details."""
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)
