"""Real sensor series and gaugings (../shared/data/timeseries) through the series readers."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from jnft.formats.series import DelimitedFormat, read_delimited, read_hubeau
from jnft.ingest.bronze import BronzeEntry
from jnft.ingest.rating import fit_rating_curve
from jnft.ingest.series import ingest_series
from jnft.lakehouse.observations import current_observations
from jnft.lakehouse.store import Lakehouse

pytestmark = pytest.mark.realdata

ARDECHE_TEXT = DelimitedFormat(
    "date",
    "H (cm)",
    "H",
    "cm",
    time_format="%d/%m/%Y %H:%M",
    station="ARDECHE-MEYRAS",
    delimiter="\t",
)


def test_hubeau_responses_in_si_units_and_utc(shared_data):
    folder = shared_data / "timeseries"
    daily = read_hubeau(next(folder.glob("MartinPecheur__obs_elab_*.json")))
    assert daily.rows["variable"].unique().to_list() == ["QmnJ"]
    assert daily.rows.row(0)[2:5] == (dt.datetime(2026, 8, 1, tzinfo=dt.UTC), 48.524, "m3/s")
    stage = read_hubeau(next(folder.glob("MartinPecheur__observations_tr_*.json")))
    assert stage.rows.row(0)[1:5] == ("H", dt.datetime(2026, 8, 27, 8, tzinfo=dt.UTC), -1.232, "m")
    assert stage.stations["K447001001"].lat == pytest.approx(47.585, abs=1e-3)


def test_ardeche_spreadsheet_serials_agree_with_the_text_dates(shared_data):
    path = shared_data / "timeseries" / "RatingShiftHappens__ArdecheRiverStage.txt"
    text = read_delimited(path, ARDECHE_TEXT)
    serial = read_delimited(
        path,
        DelimitedFormat(
            "Date", "H (cm)", "H", "cm", time_format="excel", station="A", delimiter="\t"
        ),
    )
    assert text.rows.height == serial.rows.height == 28_913
    drift = (text.rows["time"] - serial.rows["time"]).abs().max()
    assert drift <= dt.timedelta(seconds=5)  # serials carry 1e-4 day: ±4.3 s
    assert text.rows["time"].min() == dt.datetime(2001, 11, 7, 16, 19, tzinfo=dt.UTC)
    assert text.rows["value"].min() == pytest.approx(-0.749)  # cm to m


def test_ardeche_repeated_time_stamps_are_quarantined(shared_data, tmp_path):
    path = shared_data / "timeseries" / "RatingShiftHappens__ArdecheRiverStage.txt"
    store = Lakehouse.at(tmp_path)
    entry = BronzeEntry("a" * 64, path.name, f"ardeche/{path.name}", str(path), "2018-10-29", 0, "")
    report = ingest_series(
        store, "ardeche", [entry], lambda p: read_delimited(p, ARDECHE_TEXT), run_id="r"
    )
    quarantine = pl.read_delta(store.table_uri("ardeche", "quarantine"))
    conflicts = quarantine.filter(pl.col("reason").str.contains("conflicting values"))
    kept = current_observations(store.table_uri("ardeche", "observations"))
    assert report.quarantined == conflicts.height > 0
    assert kept.height + conflicts.height + report.unchanged <= 28_913
    assert kept["time"].is_unique().all()


def test_ardeche_rating_curve_from_the_recent_gaugings(shared_data):
    """The station's control shifted over the years (hence the dataset's name): the curve in
    force is fitted on the gaugings since 2013."""
    gaugings = pl.read_csv(
        shared_data / "timeseries" / "RatingShiftHappens__ArdecheRiverGaugings.txt", separator="\t"
    ).filter(pl.col("Year") >= 2013)
    curve = fit_rating_curve(gaugings["h"].to_numpy(), gaugings["Q"].to_numpy())
    predicted = curve.discharge(gaugings["h"].to_numpy())
    relative = np.abs(predicted / gaugings["Q"].to_numpy() - 1)
    print(
        f"Ardèche rating since 2013: {len(curve.segments)} segment(s), "
        f"RMS log error {curve.rmse_log:.2f}, median relative error {np.median(relative):.0%}"
    )
    assert np.median(relative) < 0.25
    assert np.all(np.diff(curve.discharge(np.linspace(-0.7, 2.0, 50))) >= 0)  # monotonic


def test_surge_peaks_over_threshold_in_metres(shared_data):
    path = shared_data / "timeseries" / "Renext__Brest.csv"
    surge = read_delimited(
        path, DelimitedFormat("date", "surge", "surcote", "cm", station="BREST", delimiter=";")
    )
    assert surge.rows.height == 1289 and surge.rejected is None
    assert surge.rows["time"].min() == dt.datetime(1846, 1, 14, tzinfo=dt.UTC)
    assert surge.rows["value"].min() > 0.3 and surge.rows["value"].max() < 2.0
