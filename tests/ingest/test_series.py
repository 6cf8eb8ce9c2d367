import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from deltalake import DeltaTable
from scipy import stats

from jnft.formats.series import DelimitedFormat, Station, read_delimited
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.rating import fit_rating_curve
from jnft.ingest.series import DesignSettings, StageToDischarge, ingest_series
from jnft.lakehouse.observations import current_observations
from jnft.lakehouse.read import scenario_series, series_sampling
from jnft.lakehouse.store import Lakehouse
from jnft.simulation.design import Sampling
from jnft.simulation.plan import design_event
from jnft.simulation.scenario import Gauge, River, Scenario

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


def annual_maxima_file(path: Path) -> BronzeEntry:
    """200 annual maxima (m³/s) of a Gumbel law, one row a year with the bounds of each."""
    q = stats.gumbel_r(loc=800.0, scale=250.0).rvs(size=200, random_state=np.random.default_rng(2))
    lines = ["annee;Qmax;Qmin_incertain;Qmax_incertain"]
    for year, value in zip(range(1820, 2020), q, strict=True):
        bounds = "NA;NA" if year < 1900 else f"{0.8 * value:.1f};{1.2 * value:.1f}"
        lines.append(f"{year};{value:.1f};{bounds}")
    lines.append("1900;;;")  # a year without a maximum
    path.write_text("\n".join(lines) + "\n")
    return entry(path, "2026-01-01")


def test_a_record_of_annual_maxima_gives_design_events(store, tmp_path):
    bounds = (("Qmax_bas", "Qmin_incertain"), ("Qmax_haut", "Qmax_incertain"))
    form = DelimitedFormat(
        "annee", "Qmax", "Qmax", "m3/s", time_format="%Y", station="ARDECHE", delimiter=";",
        extra_columns=bounds,
    )  # fmt: skip
    sampling = Sampling("annual_maxima")  # a year alone reads as its 1 January
    design = DesignSettings(sampling, ["Qmax"], [10, 100], None, 0.9)
    report = ingest_series(
        store, "crues", [annual_maxima_file(tmp_path / "am.csv")],
        lambda path: read_delimited(path, form), run_id="r", design=design,
    )  # fmt: skip
    assert report.time_formats == {"gauge/am.csv": {"%Y": 200}}
    now = current_observations(store.table_uri("crues", "observations"))
    counts = dict(now.group_by("variable").len().iter_rows())
    assert counts == {"Qmax": 200, "Qmax_bas": 120, "Qmax_haut": 120}  # bounds kept as read
    (bad,) = pl.read_delta(store.table_uri("crues", "quarantine"))["reason"].to_list()
    assert bad == "gauge/am.csv: missing value ''"  # 1900's second row, named

    events = pl.read_delta(store.table_uri("crues", "design_events")).sort("return_period")
    assert report.design_events == 2 and events["law"].to_list() == ["gev", "gev"]
    q100 = events.row(1, named=True)
    assert (q100["events"], q100["first_year"], q100["last_year"]) == (200, 1820, 2019)
    assert q100["low"] < q100["value"] < q100["high"]
    assert set(json.loads(q100["parameters"])) == {"xi", "mu", "sigma"}

    # A river scenario on the record: the same event, through the lakehouse's readers.
    assert series_sampling(store, "crues") == sampling
    series = scenario_series(store, {"gauge": ("crues", "ARDECHE", "Qmax")})
    scenario = Scenario(
        id="crue_record", title="t", description="d", kind="river", duration_h=12,
        river=River(gauge=Gauge(concept="crues", station="ARDECHE", variable="Qmax"),
                    return_period=100),
    )  # fmt: skip
    figures = design_event(scenario, series)
    assert figures["peak_discharge_m3s"] == pytest.approx(q100["value"], abs=0.01)
    assert figures["peak_interval_m3s"] == pytest.approx([q100["low"], q100["high"]], abs=0.01)
    assert figures["years_span"] == [1820, 2019] and figures["law"] == "gev"
    assert figures["base_flow_m3s"] == pytest.approx(0.05 * figures["peak_discharge_m3s"], 1e-3)

    again = ingest_series(store, "crues", [], read, run_id="r2", design=design)
    assert again.design_events == 0  # nothing new: the events stand


def test_surge_peaks_over_threshold_land_with_their_gpd_events(store, shared_data):
    path = shared_data / "timeseries" / "Renext__Brest.csv"
    form = DelimitedFormat("date", "surge", "surcote", "cm", station="BREST", delimiter=";")
    sampling = Sampling("peaks_over_threshold", threshold=0.30, years=147.62)
    design = DesignSettings(sampling, None, [100], None, 0.9)
    ingest_series(store, "surcotes", [entry(path, "2026-01-01")],
                  lambda p: read_delimited(p, form), run_id="r", design=design)  # fmt: skip
    (event,) = pl.read_delta(store.table_uri("surcotes", "design_events")).to_dicts()
    assert (event["law"], event["events"], event["unit"]) == ("gpd", 1289, "m")
    assert json.loads(event["parameters"])["rate_per_year"] == pytest.approx(8.7319, abs=1e-4)
    assert 0.95 < event["value"] < 1.10  # Renext's exponential fit: 1.10 m
