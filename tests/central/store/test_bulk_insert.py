"""PostgreSQL's bulk insert through COPY (``PostgresDB._insert_by_copy``) inserts exactly what row-by-row
``INSERT ... ON CONFLICT DO NOTHING`` inserts: the same rows (the first of two clashing ones), the same count,
inside or outside a transaction, twice in one transaction, after a rolled-back call."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central import db as centraldb
from central.store import postgres

TABLE = "CREATE TABLE {} (k INTEGER PRIMARY KEY, u TEXT NOT NULL UNIQUE, flag INTEGER NOT NULL, note TEXT, x REAL)"
COLS = ["k", "u", "flag", "note", "x"]

rows_st = st.lists(st.tuples(st.integers(1, 30), st.sampled_from("abcdefghij"), st.booleans(),
                             st.none() | st.text(max_size=8), st.none() | st.floats(allow_nan=False)).map(list),
                   max_size=80)


@pytest.fixture(scope="module")
def pg(pg_server):
    db = centraldb.open_db(pg_server.new_database())
    yield db
    db.close()


def _table(db, name: str) -> list:
    return db.execute(f"SELECT k, u, flag, note, x FROM {name} ORDER BY k").fetchall()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(existing=rows_st, rows=rows_st, in_tx=st.booleans())
def test_copy_inserts_what_row_by_row_inserts(pg, existing, rows, in_tx):
    for name in ("by_rows", "by_copy"):
        pg.execute(f"DROP TABLE IF EXISTS {name}")
        pg.execute(TABLE.format(name))
        pg.insert_ignore_many(name, COLS, existing[:postgres.COPY_MIN_ROWS - 1] if existing else [])
    limit = postgres.COPY_MIN_ROWS
    try:
        postgres.COPY_MIN_ROWS = 10**9
        by_rows = pg.insert_ignore_many("by_rows", COLS, rows)
        postgres.COPY_MIN_ROWS = 0
        if in_tx:
            with pg.transaction():
                by_copy = pg.insert_ignore_many("by_copy", COLS, rows)
        else:
            by_copy = pg.insert_ignore_many("by_copy", COLS, rows)
    finally:
        postgres.COPY_MIN_ROWS = limit
    assert by_copy == by_rows
    assert _table(pg, "by_copy") == _table(pg, "by_rows")


def test_a_big_batch_goes_through_copy_and_calls_in_one_transaction_stay_apart(pg):
    pg.execute("DROP TABLE IF EXISTS big")
    pg.execute(TABLE.format("big"))
    first = [[k, f"u{k}", k % 2 == 0, "a\x00b", 1.5] for k in range(1, 501)]
    second = [[k, f"u{k}", True, None, None] for k in range(401, 901)]
    with pg.transaction():
        assert pg.insert_ignore_many("big", COLS, first) == 500
        assert pg.insert_ignore_many("big", COLS, second) == 400  # 401..500 are held already
    assert pg.execute("SELECT to_regclass('pg_temp.' || ?) IS NOT NULL",
                      [f"gatepass_stage_big_{postgres.zlib.crc32(', '.join(COLS).encode()):08x}"]).fetchone()[0]
    assert pg.execute("SELECT COUNT(*), SUM(flag), MIN(note) FROM big").fetchone() == (900, 650, "a\ufffdb")
    with pytest.raises(RuntimeError), pg.transaction():
        pg.insert_ignore_many("big", COLS, [[k, f"v{k}", 0, None, None] for k in range(1001, 1101)])
        raise RuntimeError("undo")
    assert pg.insert_ignore_many("big", COLS, [[k, f"w{k}", 0, None, None] for k in range(2001, 2061)]) == 60
    assert pg.execute("SELECT COUNT(*) FROM big").fetchone()[0] == 960  # nothing of the rolled-back call


def test_a_role_without_temp_tables_still_inserts_row_by_row(pg_server):
    if pg_server._external:
        pytest.skip("makes a role: only on the throw-away server")
    admin = centraldb.open_db(pg_server.new_database())
    name = admin.execute("SELECT current_database()").fetchone()[0]
    role = f"no_temp_{name}"
    admin.execute(f"CREATE ROLE {role} LOGIN")
    admin.execute(f"REVOKE TEMP ON DATABASE {name} FROM PUBLIC")
    admin.execute(TABLE.format("t"))
    admin.execute(f"GRANT ALL ON t TO {role}")
    limited = centraldb.connect(pg_server.url(name).replace("gatepass@", f"{role}@", 1))
    try:
        assert not limited._may_stage()
        assert limited.insert_ignore_many("t", COLS, [[k, f"u{k}", 1, None, None] for k in range(1, 101)]) == 100
        assert admin._may_stage()
    finally:
        limited.close()
        admin.close()
