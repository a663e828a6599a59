"""Documents of the authenticated API (/api/v1/me/…): what a token's organisation posts
(beneficiaries, 微心愿, evidence) and what an organisation or enterprise reads of its own.
Nothing private comes back: a beneficiary is answered with its code, pseudonym and age band
only, even to the organisation that typed the private fields in."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from web.api.schemas import NEXT_HELP, Category, Money, PageQuery, Strict


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------- requests ---

class NewBeneficiary(Body):
    """A beneficiary: the public pseudonym, the private fields (kept for verifiers only)
    and the consent record, as on the organisation's form."""
    pseudonym: str = Field(min_length=1, max_length=20, description="Shown publicly")
    full_name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(min_length=1, max_length=30, description="身份证号 (GB 11643)")
    region: str = Field(min_length=1, max_length=200, description="省/市/县/乡镇/社区")
    address: str = Field("", max_length=300)
    school: str = Field("", max_length=120)
    guardian: str = Field("", max_length=60)
    guardian_phone: str = Field("", max_length=30)
    consent_by: str = Field(min_length=1, max_length=60)
    consent_relation: Literal["guardian", "parent", "self"] = "guardian"
    consent_on: date
    allow_photo: bool = False
    allow_story: bool = False


class NewWish(Body):
    """A 微心愿 (one item, its price, one beneficiary), created as a draft of the token's
    organisation; `submit` sends it to the verifiers at once. It is public only after a
    verifier verifies it."""
    kind: Literal["wish"] = "wish"
    title: str = Field(min_length=1, max_length=200)
    item: str = Field(min_length=1, max_length=100)
    price: str = Field(min_length=1, max_length=20, description="Yuan as typed: 150, 1,234.50")
    category: Category
    region: str = Field(min_length=1, max_length=200, description="省/市/县/乡镇/社区")
    story: str = Field("", max_length=2000, description="Public: pseudonyms only")
    deadline: date | None = None
    beneficiary: str | None = Field(None, max_length=20,
                                    description="Code of one of the organisation's "
                                                "beneficiaries; or give new_beneficiary")
    new_beneficiary: NewBeneficiary | None = None
    submit: bool = Field(False, description="Submit for verification now")


File = Annotated[Any, WithJsonSchema({"type": "string", "format": "binary"})]


class EvidenceUpload(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    file: File = Field(description="JPEG, PNG or WebP; checked by content, metadata removed")
    caption: str = Field("", max_length=300)
    shows_face: bool = Field(False, description="the photo shows a minor beneficiary's face: "
                                                "refused unless their consent allows photos")


# --------------------------------------------------------------------- documents ---

class TokenOwner(Strict):
    kind: Literal["organisation", "enterprise"]
    id: int
    name: str


class TokenInfo(Strict):
    name: str
    scope: Literal["read", "write"]
    owner: TokenOwner
    created_at: datetime
    links: dict[str, str]


class BeneficiaryCreated(Strict):
    code: str
    pseudonym: str
    age_band: str
    region: str = Field(description="County level")


class OwnNeed(Strict):
    code: str
    kind: str
    title: str
    state: str = Field(description="draft, submitted, verified, rejected, funded, …")
    category: str
    region: str = Field(description="County level")
    amount: Money
    funded: Money
    beneficiary: str | None = Field(description="Beneficiary code")
    html_url: str = Field(description="The public page (once verified)")


class OwnNeedList(Strict):
    items: list[OwnNeed]
    total: int
    next: str | None = Field(description=NEXT_HELP)


class EvidenceCreated(Strict):
    id: int
    need: str
    content_type: str
    sha256: str
    caption: str
    url: str = Field(description="Public once the need is public")


class Pledge(Strict):
    code: str | None
    title: str
    status: str
    budget: Money
    paid_in: Money
    allocated: Money
    disbursed: Money
    period_start: date | None
    period_end: date | None


class PledgeList(Strict):
    items: list[Pledge]
    next: str | None = Field(description=NEXT_HELP)


class Proposal(Strict):
    id: int
    need: str
    need_title: str
    pledge: str | None
    amount: Money
    match_run: int | None
    expires_at: datetime | None
    review_due: datetime | None


class ProposalList(Strict):
    items: list[Proposal]
    next: str | None = Field(description=NEXT_HELP)


class CountyLine(Strict):
    county: str
    amount: Money
    needs: int


class NeedLine(Strict):
    need: str
    title: str
    county: str
    amount: Money


class Report(Strict):
    enterprise: str
    budget: Money
    paid_in: Money
    allocated: Money
    disbursed: Money
    by_county: list[CountyLine]
    needs: list[NeedLine]


class OwnQuery(PageQuery):
    """A keyset page of one's own list: `cursor` from the previous page's `next`."""

