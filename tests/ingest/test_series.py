import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from deltalake import DeltaTable

from jnft.formats.series import DelimitedFormat, Station, read_delimited
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.rating import fit_rating_curve
from jnft.ingest.series import StageToDischarge, ingest_series
from jnft.lakehouse.observations import current_observations
from jnft.lakehouse.store import Lakehouse

FORM = DelimitedFormat("date", "h_cm", "H", "cm", station="G1", delimiter=";")


def entry(path: Path, vintage: str) -> BronzeEntry:
    sha = path.name.encode().hex().ljust(64, "0")[:64]
    return BronzeEntry(sha, path.name, f"gauge/{path.name}", str(path), vintage, 0, "")


def stage_file(path: Path, lines: list[str]) -> BronzeEntry:
    path.write_text("date;h_cm\n" + "\n".join(lines) + "\n")
    return entry(path, "2026-01-01")


def read(path):
    return read_delimited(path, FORM)


@pytest.fixture
def store(tmp_path):
    return Lakehouse.at(tmp_path / "lake")


def quarantine(store):
    return pl.read_delta(store.table_uri("gauge", "quarantine"))


def test_bad_files_and_rows_are_quarantined_and_the_rest_loads(store, tmp_path):
    good = stage_file(tmp_path / "a.csv", ["2026-01-01T00:00:00Z;120", "2026-01-01T01:00:00Z;125"])
    dup = stage_file(
        tmp_path / "b.csv",
        [
            "2026-01-01T02:00:00Z;130",
            "2026-01-01T02:00:00Z;131",
            "2026-01-01T03:00:00Z;140",
            "2026-01-01T03:00:00Z;140",
        ],
    )
    empty = entry(tmp_path / "c.csv", "2026-01-01")
    Path(empty.bronze_path).write_bytes(b"")
    report = ingest_series(
        store,
        "gauge",
        [good, dup, empty],
        read,
        run_id="r",
        stations={"G1": Station("G1", "Gauge", x=390_000, y=6_545_000)},
    )
    assert report.loaded == ["gauge/a.csv", "gauge/b.csv"]
    assert len(report.rejected_files) == 1 and report.rejected_files[0].startswith("gauge/c.csv")
    now = current_observations(store.table_uri("gauge", "observations"))
    assert now["value"].to_list() == pytest.approx([1.2, 1.25, 1.4])  # 02:00 is ambiguous
    bad = quarantine(store)
    assert bad.filter(pl.col("level") == "file")["reason"].str.contains("gauge/c.csv").all()
    rows = bad.filter(pl.col("level") == "row")
    assert rows.height == 2 and rows["reason"].str.contains("conflicting values").all()
    (station,) = pl.read_delta(store.table_uri("gauge", "stations")).to_dicts()
    assert (station["feature_id"], station["tile"], station["observations"]) == (
        "G1",
        "0390_6550",
        3,
    )


def test_a_rerun_loads_nothing_and_keeps_stations(store, tmp_path):
    files = [stage_file(tmp_path / "a.csv", ["2026-01-01T00:00:00Z;120"])]
    stations = {"G1": Station("G1", "Gauge", x=390_000, y=6_545_000)}
    ingest_series(store, "gauge", files, read, run_id="r1", stations=stations)
    version = DeltaTable(store.table_uri("gauge", "observations")).version()
    again = ingest_series(store, "gauge", files, read, run_id="r2")
    assert (again.already_loaded, again.loaded) == (1, [])
    assert DeltaTable(store.table_uri("gauge", "observations")).version() == version
    (station,) = pl.read_delta(store.table_uri("gauge", "stations")).to_dicts()
    assert station["bbox_xmin"] == 390_000  # located by the first run, still located


def test_stages_get_discharges_from_the_rating_curve(store, tmp_path):
    h = np.linspace(0.5, 3, 12)
    curve = fit_rating_curve(h, 18 * (h - 0.3) ** 1.6)
    rating = StageToDischarge(
        curve, "H", "Q_tarage", dt.datetime(2026, 1, 1, 1, tzinfo=dt.UTC), "g" * 64
    )
    files = [
        stage_file(tmp_path / "a.csv", ["2026-01-01T00:00:00Z;120", "2026-01-01T01:00:00Z;200"])
    ]
    report = ingest_series(store, "gauge", files, read, run_id="r", rating=rating)
    now = current_observations(store.table_uri("gauge", "observations"))
    derived = now.filter(pl.col("variable") == "Q_tarage")
    assert report.derived == 1  # 00:00 is before the curve's validity
    assert derived["value"][0] == pytest.approx(18 * 1.7**1.6, rel=1e-3)
    assert derived["unit"][0] == "m3/s" and derived["quality"][0].startswith("derived")
