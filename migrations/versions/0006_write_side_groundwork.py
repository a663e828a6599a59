"""Write-side groundwork (issue 7): the job outbox; membership roles with their scopes
(a region column for verifiers, a CHECK per role's scope, partial unique indexes);
the ledger tables refuse UPDATE and DELETE (triggers); one transfer record per move of
money into a need (allocation gains donation sources, the declined state, records for
earlier grants and donations); a need can carry a hold.

Memberships that the new rules cannot hold are removed: a fund manager with no fund, a
verifier with no region (under deny-by-default they could do nothing anyway). The old role
names become the new ones: charity → org_admin, enterprise → enterprise_staff.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


# Frozen copies of core.users' tables of roles (a migration must not change with the code).
ROLE_SCOPES = {"donor": None, "enterprise_staff": "enterprise_id",
               "enterprise_reviewer": "enterprise_id", "org_staff": "organisation_id",
               "org_admin": "organisation_id", "verifier": "region", "fund_manager": "fund_id",
               "admin": None}
ROLES = tuple(ROLE_SCOPES)
SCOPE_COLUMNS = ("organisation_id", "enterprise_id", "fund_id", "region")
OLD_ROLES = ("donor", "enterprise", "charity", "verifier", "fund_manager", "admin")
UNIQUE_INDEXES = [("uq_membership_unscoped", None), ("uq_membership_organisation", "organisation_id"),
                  ("uq_membership_enterprise", "enterprise_id"), ("uq_membership_fund", "fund_id"),
                  ("uq_membership_region", "region")]


def _role_check(roles) -> str:
    return "role IN (" + ",".join(f"'{role}'" for role in roles) + ")"


def _scope_check(role, scope) -> str:
    parts = [f"{column} IS NOT NULL" if column == scope else f"{column} IS NULL"
             for column in SCOPE_COLUMNS]
    return f"role <> '{role}' OR ({' AND '.join(parts)})"


def _upgrade_membership() -> None:
    with op.batch_alter_table("membership") as batch:
        batch.drop_constraint("membership_unique", type_="unique")
        batch.drop_constraint("membership_role_known", type_="check")
        batch.add_column(sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=200),
                                   nullable=True))
    op.execute("UPDATE membership SET role = 'org_admin' WHERE role = 'charity'")
    op.execute("UPDATE membership SET role = 'enterprise_staff' WHERE role = 'enterprise'")
    for role, scope in ROLE_SCOPES.items():
        op.execute(f"DELETE FROM membership WHERE NOT ({_scope_check(role, scope)})")
    # Keep one of each set of duplicates (the oldest).
    op.execute("DELETE FROM membership WHERE id NOT IN (SELECT min(id) FROM membership GROUP BY "
               "user_id, role, organisation_id, enterprise_id, fund_id, region)")
    with op.batch_alter_table("membership") as batch:
        batch.create_check_constraint("membership_role_known", _role_check(ROLES))
        for role, scope in ROLE_SCOPES.items():
            batch.create_check_constraint(f"membership_scope_{role}", _scope_check(role, scope))
    for name, scope in UNIQUE_INDEXES:
        columns = ["user_id", "role"] + ([scope] if scope else [])
        where = sa.text(f"{scope} IS NOT NULL" if scope else
                        " AND ".join(f"{column} IS NULL" for column in SCOPE_COLUMNS))
        op.create_index(name, "membership", columns, unique=True, sqlite_where=where,
                        postgresql_where=where)


def _downgrade_membership() -> None:
    for name, _scope in UNIQUE_INDEXES:
        op.drop_index(name, table_name="membership")
    with op.batch_alter_table("membership") as batch:
        batch.drop_constraint("membership_role_known", type_="check")
        for role in ROLES:
            batch.drop_constraint(f"membership_scope_{role}", type_="check")
    op.execute("DELETE FROM membership WHERE role IN ('enterprise_reviewer', 'org_staff')")
    op.execute("UPDATE membership SET role = 'charity' WHERE role = 'org_admin'")
    op.execute("UPDATE membership SET role = 'enterprise' WHERE role = 'enterprise_staff'")
    with op.batch_alter_table("membership") as batch:
        batch.drop_column("region")
        batch.create_check_constraint("membership_role_known", _role_check(OLD_ROLES))
        batch.create_unique_constraint("membership_unique", ["user_id", "role", "organisation_id",
                                                             "enterprise_id", "fund_id"])


# Frozen copy of funds/ledger_guard.py's statements.
_APPEND_ONLY = "the ledger is append-only: write a reversing transaction instead"
_LEDGER_TABLES = ("ledger_txn", "ledger_posting")


def _create_ledger_guards() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"""
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{_APPEND_ONLY} (% on %)', TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$""")
        for table in _LEDGER_TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
        return
    for table in _LEDGER_TABLES:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END")


def _drop_ledger_guards() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in _LEDGER_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
        return
    for table in _LEDGER_TABLES:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb.lower()}")


_ONE_SOURCE = ("(CASE WHEN pledge_id IS NULL THEN 0 ELSE 1 END + CASE WHEN fund_id IS NULL THEN 0 "
               "ELSE 1 END + CASE WHEN donation_id IS NULL THEN 0 ELSE 1 END) = 1")


def _upgrade_transfers() -> None:
    with op.batch_alter_table("allocation") as batch:
        batch.drop_constraint("allocation_one_source", type_="check")
        batch.drop_constraint("allocation_status", type_="check")
        batch.add_column(sa.Column("donation_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_allocation_donation_id_donation", "donation",
                                 ["donation_id"], ["id"])
        batch.create_unique_constraint("uq_allocation_donation_id", ["donation_id"])
    op.execute("UPDATE allocation SET status = 'declined' WHERE status = 'rejected'")
    # Every earlier transfer gets its record: grants lived only in the ledger, donations to a
    # need only in `donation`.
    op.execute("""
        INSERT INTO allocation (need_id, fund_id, amount, status, ledger_seq, reason, created_at)
        SELECT n.id, f.id, np.amount, 'executed', t.seq, '', t.at
        FROM ledger_txn t
        JOIN ledger_posting np ON np.seq = t.seq
        JOIN need n ON np.account = 'need:' || n.code
        JOIN ledger_posting fp ON fp.seq = t.seq
        JOIN communityfund f ON fp.account = 'fund:' || f.code
        WHERE t.kind = 'grant' ORDER BY t.seq""")
    op.execute("""
        INSERT INTO allocation (need_id, donation_id, amount, status, ledger_seq, reason, created_at)
        SELECT need_id, id, amount, 'executed', ledger_seq, '', created_at FROM donation
        WHERE need_id IS NOT NULL AND status = 'paid' AND ledger_seq IS NOT NULL ORDER BY id""")
    with op.batch_alter_table("allocation") as batch:
        batch.create_check_constraint("allocation_one_source", _ONE_SOURCE)
        batch.create_check_constraint(
            "allocation_status",
            "status IN ('proposed','approved','executed','declined','reversed')")
        batch.create_check_constraint("allocation_executed_has_txn",
                                      "status <> 'executed' OR ledger_seq IS NOT NULL")
    with op.batch_alter_table("need") as batch:
        batch.add_column(sa.Column("hold_holder", sqlmodel.sql.sqltypes.AutoString(length=80),
                                   nullable=True))
        batch.add_column(sa.Column("hold_until", sqlmodel.sql.sqltypes.UTCDateTime(),
                                   nullable=True))
        batch.create_check_constraint("need_hold_complete",
                                      "(hold_holder IS NULL) = (hold_until IS NULL)")


def _downgrade_transfers() -> None:
    with op.batch_alter_table("need") as batch:
        batch.drop_constraint("need_hold_complete", type_="check")
        batch.drop_column("hold_until")
        batch.drop_column("hold_holder")
    op.execute("DELETE FROM approval WHERE allocation_id IN "
               "(SELECT id FROM allocation WHERE pledge_id IS NULL)")
    op.execute("DELETE FROM allocation WHERE pledge_id IS NULL")
    op.execute("UPDATE allocation SET status = 'rejected' WHERE status = 'declined'")
    with op.batch_alter_table("allocation") as batch:
        batch.drop_constraint("allocation_executed_has_txn", type_="check")
        batch.drop_constraint("allocation_status", type_="check")
        batch.drop_constraint("allocation_one_source", type_="check")
        batch.drop_constraint("uq_allocation_donation_id", type_="unique")
        batch.drop_constraint("fk_allocation_donation_id_donation", type_="foreignkey")
        batch.drop_column("donation_id")
        batch.create_check_constraint("allocation_one_source",
                                      "(pledge_id IS NULL) <> (fund_id IS NULL)")
        batch.create_check_constraint(
            "allocation_status",
            "status IN ('proposed','approved','rejected','executed','reversed')")


def upgrade() -> None:
    _upgrade_membership()
    _upgrade_transfers()
    _create_ledger_guards()
    op.create_table(
        "job_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("func", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("enqueued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_job_outbox_enqueued_at", "job_outbox", ["enqueued_at"])


def downgrade() -> None:
    _drop_ledger_guards()
    _downgrade_transfers()
    _downgrade_membership()
    op.drop_index("ix_job_outbox_enqueued_at", table_name="job_outbox")
    op.drop_table("job_outbox")
