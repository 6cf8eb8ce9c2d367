import datetime as dt

import pytest

from jnft.ingest.quarantine import QUARANTINE_SCHEMA
from jnft.ingest.scd2 import merge_vintage
from jnft.lakehouse import database
from jnft.lakehouse.delta import ensure_table
from tests.factories import SQL_DIR, layer


def test_extensions_load_offline_and_spatial_works():
    con = database.connect()
    assert con.sql("SELECT current_setting('autoinstall_known_extensions')").fetchone() == (False,)
    (area,) = con.sql(
        "SELECT ST_Area(ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))'))"
    ).fetchone()
    assert area == 100
    x, y = con.sql(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Point(-1.0, 46.0), 'OGC:CRS84', "
        "'EPSG:2154', always_xy := true) AS p)"
    ).fetchone()
    assert 380_000 < x < 410_000 and 6_540_000 < y < 6_560_000


def test_version_mismatch_fails_loudly(monkeypatch):
    monkeypatch.setattr(database.importlib.metadata, "version", lambda name: "0.0.1")
    with pytest.raises(database.ExtensionVersionError, match="does not match duckdb"):
        database.connect()


def test_views_history_and_asof_over_delta(tmp_path):
    tables = ("versions", "closures", "commits", "staged", "quarantine")
    uris = {t: str(tmp_path / t) for t in tables}
    merge_vintage(
        uris["versions"],
        uris["closures"],
        layer({"a": (0, "R"), "b": (20, "C")}),
        dt.date(2023, 3, 15),
    )
    merge_vintage(uris["versions"], uris["closures"], layer({"a": (0, "X")}), dt.date(2025, 3, 15))
    ensure_table(uris["quarantine"], QUARANTINE_SCHEMA)
    scripts = database.render_sql(
        SQL_DIR,
        [
            {
                "kind": "history",
                "concept": "bati",
                "columns": "v.* REPLACE (ST_GeomFromWKB(v.geometry) AS geometry)",
                **uris,
            }
        ],
        {"root": str(tmp_path)},
    )
    path = database.build_database(tmp_path / "lakehouse.duckdb", scripts)
    con = database.connect(path)
    assert con.sql("SELECT count(*) FROM bati").fetchone() == (1,)
    assert con.sql("SELECT count(*) FROM bati_history").fetchone() == (3,)
    assert sorted(
        con.sql("SELECT feature_id, usage FROM asof('bati', TIMESTAMP '2024-01-01')").fetchall()
    ) == [("a", "R"), ("b", "C")]
    assert con.sql("SELECT usage FROM asof('bati', TIMESTAMP '2025-03-15')").fetchall() == [("X",)]
    assert con.sql("SELECT ST_Area(geometry) FROM bati").fetchone() == (100.0,)
    with pytest.raises(Exception, match="read-only"):
        con.execute("CREATE TABLE t (a INT)")


def test_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="make demo"):
        database.connect(tmp_path / "nope.duckdb")
