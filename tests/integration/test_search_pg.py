"""Search in PostgreSQL (needs.search_pg): the in-memory index's tests, run against the
`need_search` rows and pg_trgm; and the rows are current the moment a change commits."""

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

from core import migrate
from core.data_version import SITE, scope_version
from core.db import get_engine, unit_of_work
from needs import search_pg, services
from needs.posting import edit_need
from needs.search import Hit
from tests.conftest import require_postgres, scratch_postgres, truncate_all

# The in-memory index's behaviour, asserted again here against PostgreSQL (the same
# functions; pytest gives them this module's `index` fixture).
from tests.unit.test_search import (  # noqa: F401
    ROWS,
    test_empty_and_garbage_queries_find_nothing,
    test_exact_chinese_finds_the_need,
    test_full_pinyin,
    test_full_width_and_case_are_folded,
    test_limit_is_respected,
    test_pinyin_initials,
    test_programme_and_organisation_names_are_searchable,
    test_ranking_all_tokens_must_match,
    test_ranking_title_before_story,
    test_region_is_searchable_at_county_level_only,
    test_traditional_characters,
    test_typo_in_chinese_still_finds_it,
    test_typo_in_pinyin_still_finds_it,
    test_very_long_query_is_cut_not_slow,
)


def _post(s, row, orgs: dict, programmes: dict, state: str = "verified"):
    """A need made through the services from a SearchRow of the unit tests."""
    county = "/".join(row.region.split("/")[:3])
    org = orgs.get(row.organisation)
    if org is None:
        org = orgs[row.organisation] = services.create_organisation(
            s, row.organisation, county, status="approved")
    programme = programmes.get(row.programme)
    if programme is None and row.programme:
        programme = programmes[row.programme] = services.create_programme(
            s, f"p{len(programmes) + 1}", row.programme, county)
    need = services.create_need(s, org, kind=row.kind, title=row.title, story=row.story,
                                amount=10_000, category=row.category, region=row.region,
                                programme=programme)
    if state in ("submitted", "verified"):
        services.submit(s, need)
    if state == "verified":
        services.verify(s, need)
    return need


class PgIndex:
    """The unit tests' `index`: search_pg over the database, ids mapped back to the rows'."""

    def __init__(self, engine, to_row: dict[int, int]):
        self.engine, self.to_row = engine, to_row

    def search(self, query, limit=50):
        with Session(self.engine) as s:
            return [Hit(self.to_row[h.id], h.score) for h in search_pg.search(s, query, limit)]


@pytest.fixture(scope="module")
def index(database_url):
    require_postgres()
    truncate_all(database_url)
    engine = get_engine(database_url)
    to_row: dict[int, int] = {}
    with unit_of_work(engine) as s:
        orgs: dict = {}
        programmes: dict = {}
        for row in ROWS:
            to_row[_post(s, row, orgs, programmes).id] = row.id
    yield PgIndex(engine, to_row)
    truncate_all(database_url)


def test_public_states_are_the_models():
    from needs.models import PUBLIC_STATES

    assert search_pg.PUBLIC == PUBLIC_STATES


def _found(engine, query: str) -> list[int]:
    with Session(engine) as s:
        return [h.id for h in search_pg.search(s, query, 50)]


@pytest.fixture
def pg(clean_url):
    require_postgres()
    return get_engine(clean_url)


def test_every_public_need_has_a_row_and_no_other_does(pg):
    with unit_of_work(pg) as s:
        orgs, programmes = {}, {}
        shown = _post(s, ROWS[0], orgs, programmes)
        waiting = _post(s, ROWS[1], orgs, programmes, state="submitted")
        draft = _post(s, ROWS[2], orgs, programmes, state="draft")
    with pg.connect() as conn:
        rows = conn.execute(text("SELECT need_id, title, title_py, meta FROM need_search")).all()
    assert [r[0] for r in rows] == [shown.id]
    assert rows[0][1] == "滨城区困难学生助学项目"
    assert rows[0][2].startswith("binchengqu")
    assert "一米阳光" in rows[0][3] and "滨城区" in rows[0][3]
    assert waiting.id not in [r[0] for r in rows] and draft.id not in [r[0] for r in rows]


def test_a_verified_need_is_found_as_soon_as_it_commits(pg):
    with unit_of_work(pg) as s:
        need = _post(s, ROWS[3], {}, {}, state="submitted")
    assert _found(pg, "xinshubao") == []
    before = scope_version(pg.connect(), SITE)
    with unit_of_work(pg) as s:
        services.verify(s, s.merge(need))
    assert _found(pg, "xinshubao") == [need.id]    # no rebuild, no wait
    assert _found(pg, "新書包") == [need.id]
    assert scope_version(pg.connect(), SITE) > before  # cached answers are dropped too


def test_an_edited_title_is_searched_as_soon_as_it_commits(pg):
    with unit_of_work(pg) as s:
        need = _post(s, ROWS[4], {}, {})
    assert _found(pg, "火灾") == [need.id]
    with unit_of_work(pg) as s:
        need = s.merge(need)
        edit_need(s, need, None, title="暴雨受损家庭临时安置", story=need.story,
                  amount=need.amount, beneficiary=None)
        assert need.state == "verified"  # a title alone needs no new verification
    assert _found(pg, "baoyu") == [need.id]
    assert _found(pg, "暴雨受損") == [need.id]
    assert need.id not in _found(pg, "火灾受损家庭")  # the story still says 火灾, not the title
    assert _found(pg, "火灾") == [need.id]


def test_a_need_hidden_or_closed_leaves_the_search_at_once(pg):
    with unit_of_work(pg) as s:
        orgs, programmes = {}, {}
        edited = _post(s, ROWS[0], orgs, programmes)
        cancelled = _post(s, ROWS[5], orgs, programmes)
    assert set(_found(pg, "一米阳光")) == {edited.id, cancelled.id}
    with unit_of_work(pg) as s:
        need = s.merge(edited)
        # A new story sends a verified need back to the verifiers, off the public lists.
        edit_need(s, need, None, title=need.title, story="新的说明", amount=need.amount,
                  beneficiary=None)
        assert need.state == "submitted"
    assert _found(pg, "一米阳光") == [cancelled.id]
    with unit_of_work(pg) as s:
        services.cancel(s, s.merge(cancelled), None, "不再需要")
    assert _found(pg, "一米阳光") == []
    assert _found(pg, "kangfuxunlian") == []


def test_a_renamed_organisation_or_programme_is_searched_at_once(pg):
    with unit_of_work(pg) as s:
        orgs, programmes = {}, {}
        need = _post(s, ROWS[3], orgs, programmes)
        org, programme = orgs[ROWS[3].organisation], programmes[ROWS[3].programme]
    assert _found(pg, "海丝护童") == [need.id]
    with unit_of_work(pg) as s:
        s.merge(org).name = "北海市儿童之家"
        s.merge(programme).name = "童心港湾"
    assert _found(pg, "儿童之家") == [need.id]
    assert _found(pg, "tongxingangwan") == [need.id]
    assert _found(pg, "海丝护童") == []


def test_a_rolled_back_verification_leaves_no_row(pg):
    with unit_of_work(pg) as s:
        need = _post(s, ROWS[1], {}, {}, state="submitted")
    with pytest.raises(RuntimeError), unit_of_work(pg) as s:
        services.verify(s, s.merge(need))
        s.flush()
        raise RuntimeError("the unit of work fails after the verification")
    assert _found(pg, "助学金") == []
    with unit_of_work(pg) as s:
        services.verify(s, s.merge(need))
    assert _found(pg, "助学金") == [need.id]


def test_typos_are_found_in_autocommit_too(pg):
    """Public reads may run in autocommit: the word-similarity setting must hold anyway."""
    with unit_of_work(pg) as s:
        need = _post(s, ROWS[5], {}, {})
    with pg.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SET pg_trgm.word_similarity_threshold = 0.9"))  # a stranger's value
        assert [h.id for h in search_pg.search(conn, "kangfuxunlain")] == [need.id]


def test_browse_uses_postgres_and_sees_changes_at_once(app, pg, monkeypatch):
    """GET /needs?q=... answers from the rows; a change shows on the next request."""
    from readside import search_cache

    with unit_of_work(pg) as s:
        first = _post(s, ROWS[3], {}, {})
    with Session(pg) as s:
        assert search_cache.backend(s) == "postgres"
        assert isinstance(search_cache.search_index(s), search_pg.PgSearch)
    client = app.test_client()
    assert first.code in client.get("/needs?q=xsb").get_data(as_text=True)
    with unit_of_work(pg) as s:
        services.cancel(s, s.merge(first), None, "不再需要")
    assert first.code not in client.get("/needs?q=xsb").get_data(as_text=True)
    monkeypatch.setenv("SEARCH_BACKEND", "memory")
    with Session(pg) as s:
        assert search_cache.backend(s) == "memory"


def test_money_moving_writes_no_search_row(pg):
    """A gift changes no searchable text: it must not rewrite rows (nor stamp `site`)."""
    from needs.funding import reserve_need

    with unit_of_work(pg) as s:
        need = _post(s, ROWS[3], {}, {})
    with pg.connect() as conn:
        xmin = conn.execute(text("SELECT xmin::text FROM need_search")).scalar()
    with unit_of_work(pg) as s:
        need = s.merge(need)
        reserve_need(s, need, need.amount)
        need.state = "funded"
    with pg.connect() as conn:
        assert conn.execute(text("SELECT xmin::text FROM need_search")).scalar() == xmin


def test_the_migration_backfills_existing_needs():
    """Needs that exist before 0038 get their rows from the migration itself."""
    with scratch_postgres() as url:
        migrate.upgrade(url)
        engine = create_engine(url)
        with unit_of_work(engine) as s:
            orgs, programmes = {}, {}
            made = [_post(s, row, orgs, programmes).id for row in ROWS]
        migrate.downgrade(url, "0037")
        migrate.upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT need_id FROM need_search ORDER BY 1")).scalars()
            assert list(rows) == sorted(made)
        assert _found(engine, "shubao")[0] == made[3]
        engine.dispose()
