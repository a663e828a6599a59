"""The per-process duplicate index over the database: new beneficiaries are caught up
before each check, and a database emptied behind its back (a restore, a test) starts it
again instead of flagging people who no longer exist."""
from datetime import date

from sqlmodel import select

from core.db import get_engine, unit_of_work
from needs import duplicate_check
from needs import services as needs
from needs.models import DuplicateFlag
from tests.conftest import truncate_all
from tests.integration.helpers import BZ, org


def _person(url, name, born=date(2014, 5, 6), address="齐明社区3号"):
    with unit_of_work(get_engine(url)) as s:
        return needs.create_beneficiary(s, org(s) if not _orgs(s) else _orgs(s)[0], "小安",
                                        "6-11", BZ, full_name=name, birth_date=born,
                                        address=address).id


def _orgs(s):
    from needs.models import Organisation
    return s.exec(select(Organisation)).all()


def _check(url, beneficiary_id):
    with unit_of_work(get_engine(url)) as s:
        duplicate_check.check_beneficiary(s, beneficiary_id)
        return sorted(f.other_id for f in s.exec(
            select(DuplicateFlag).where(DuplicateFlag.beneficiary_id == beneficiary_id)))


def test_new_beneficiaries_are_caught_up_and_an_emptied_database_starts_again(clean_url):
    duplicate_check.forget_indexes()
    first = _person(clean_url, "王晓安")
    assert _check(clean_url, first) == []
    second = _person(clean_url, "王小安")  # added after the index was built
    assert _check(clean_url, second) == [first]
    with unit_of_work(get_engine(clean_url)) as s:
        assert len(duplicate_check.index_for(s)) == 2

    truncate_all(clean_url)  # emptied behind the index's back (no forget_indexes)
    someone = _person(clean_url, "李雨桐", born=date(2012, 1, 2), address="黄河五路8号")
    with unit_of_work(get_engine(clean_url)) as s:
        assert len(duplicate_check.index_for(s)) == 1
    assert _check(clean_url, someone) == []
    duplicate_check.forget_indexes()
