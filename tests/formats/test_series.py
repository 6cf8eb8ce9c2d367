import datetime as dt
import json

import polars as pl
import pytest

from jnft.formats.errors import SourceFileError
from jnft.formats.series import DelimitedFormat, read_delimited, read_hubeau
from jnft.ingest.dedup import deduplicate
from jnft.lakehouse.observations import append_observations, current_observations

UTC = dt.UTC


def hubeau(path, quantity="H", values=(1200.0, 1250.0), elaborated=False):
    time, value, variable = (
        ("date_obs_elab", "resultat_obs_elab", "grandeur_hydro_elab")
        if elaborated
        else ("date_obs", "resultat_obs", "grandeur_hydro")
    )
    data = [
        {
            "code_station": "K447001001",
            time: f"2026-08-2{i}" if elaborated else f"2026-08-27T0{i}:00:00Z",
            value: v,
            variable: quantity,
            "libelle_qualification_obs": "Bonne",
            "longitude": 1.335,
            "latitude": 47.585,
        }
        for i, v in enumerate(values)
    ]
    path.write_text(json.dumps({"count": len(data), "data": data}))
    return path


def test_hubeau_stages_in_mm_become_metres_in_utc(tmp_path):
    series = read_hubeau(hubeau(tmp_path / "h.json"))
    assert series.rows["value"].to_list() == [1.2, 1.25]
    assert set(series.rows["unit"]) == {"m"}
    assert series.rows["time"][0] == dt.datetime(2026, 8, 27, 0, tzinfo=UTC)
    assert series.rows["quality"][0] == "Bonne"
    assert series.stations["K447001001"].lon == 1.335


def test_hubeau_daily_discharges_in_litres_become_cubic_metres(tmp_path):
    series = read_hubeau(hubeau(tmp_path / "q.json", "QmnJ", (48524.0,), elaborated=True))
    assert series.rows.row(0)[1:5] == ("QmnJ", dt.datetime(2026, 8, 20, tzinfo=UTC), 48.524, "m3/s")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a JSON document"),
        (b'{"count": 0, "data": []}', "holds no observation"),
        (b'{"results": []}', "no `data` array"),
    ],
)
def test_a_bad_hubeau_file_is_named(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(SourceFileError, match=message):
        read_hubeau(path)


def test_spreadsheet_serial_dates_and_centimetres(tmp_path):
    path = tmp_path / "stage.txt"
    path.write_text("Date\tH (cm)\n37202.6799\t17.2\n37210.35\t13,2\nnot a date\t12\n37214\tn/a\n")
    form = DelimitedFormat(
        "Date", "H (cm)", "H", "cm", time_format="excel", station="S1", delimiter="\t"
    )
    series = read_delimited(path, form)
    assert series.rows["time"].to_list() == [
        dt.datetime(2001, 11, 7, 16, 19, 3, 360000, tzinfo=UTC),
        dt.datetime(2001, 11, 15, 8, 24, tzinfo=UTC),
    ]
    assert series.rows["value"].to_list() == pytest.approx([0.172, 0.132])  # decimal comma
    assert sorted(series.rejected["reason"]) == [
        "missing value 'n/a'",
        "unreadable time 'not a date' (formats: excel)",
    ]
    assert series.time_formats == {"excel": 2}


def test_local_times_become_utc_across_daylight_saving(tmp_path):
    path = tmp_path / "tide.csv"
    path.write_text(
        "# export\nDate;Valeur\n29/03/2026 01:30:00;3.0\n29/03/2026 03:30:00;2.5\n"
        "29/03/2026 02:30:00;2.7\n"
    )
    form = DelimitedFormat(
        "Date",
        "Valeur",
        "niveau_mer",
        "m",
        time_format="%d/%m/%Y %H:%M:%S",
        timezone="Europe/Paris",
        station="P",
        delimiter=";",
        comment_prefix="#",
        offset_m=-3.2,
    )
    series = read_delimited(path, form)
    assert series.rows["time"].to_list() == [
        dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # CET
        dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # CEST
    ]
    assert series.rows["value"].to_list() == pytest.approx([-0.2, -0.7])  # ZH to NGF
    # 02:30 does not exist that night
    assert series.rejected["reason"].to_list() == [
        "unreadable time '29/03/2026 02:30:00' (formats: %d/%m/%Y %H:%M:%S)"
    ]


def test_several_time_formats_are_tried_in_order_and_counted(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "date;h\n"
        "2026-01-01T00:00:00Z;1.0\n"  # ISO with its offset
        "2026-01-01 02:00;2.0\n"  # naive ISO, in the declared zone
        "01/02/2026 03:00;3.0\n"  # day first: the first pattern reads it
        "13/02/2026;4.0\n"
        "2026-02-30;5.0\n"
    )
    form = DelimitedFormat(
        "date", "h", "H", "m", time_format=("iso", "%d/%m/%Y %H:%M", "%d/%m/%Y"), station="S",
        delimiter=";", timezone="Europe/Paris",
    )  # fmt: skip
    series = read_delimited(path, form)
    assert series.rows["time"].to_list() == [
        dt.datetime(2026, 1, 1, 0, tzinfo=UTC),
        dt.datetime(2026, 1, 1, 1, tzinfo=UTC),
        dt.datetime(2026, 2, 1, 2, tzinfo=UTC),
        dt.datetime(2026, 2, 12, 23, tzinfo=UTC),
    ]
    assert series.time_formats == {"iso": 2, "%d/%m/%Y %H:%M": 1, "%d/%m/%Y": 1}
    assert series.rejected["reason"].to_list() == [
        "unreadable time '2026-02-30' (formats: iso, %d/%m/%Y %H:%M, %d/%m/%Y)"
    ]


def test_every_reason_of_a_row_is_kept_and_missing_is_not_unreadable(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("date,q,station\nsoon,abc,\n,NA,S\n2026-01-01,  ,S\n2026-01-02,7,S\n")
    form = DelimitedFormat("date", "q", "Q", "m3/s", station_column="station")
    series = read_delimited(path, form)
    assert series.rows["value"].to_list() == [7.0]
    assert series.rejected["reason"].to_list() == [
        "unreadable time 'soon' (formats: iso); unreadable value 'abc'; no station",
        "missing time; missing value 'NA'",
        "missing value ''",
    ]
    assert series.rejected["record"][1] == {"date": None, "q": "NA", "station": "S"}


def rows(values, quality="ok", start=dt.datetime(2026, 1, 1, tzinfo=UTC)):
    return pl.DataFrame(
        {
            "station": ["S"] * len(values),
            "variable": ["H"] * len(values),
            "time": [start + dt.timedelta(hours=i) for i in range(len(values))],
            "value": values,
            "unit": ["m"] * len(values),
            "quality": [quality] * len(values),
        }
    )


def test_repeated_time_stamps_collapse_or_are_quarantined():
    repeated = pl.concat([rows([1.0, 2.0, 3.0]), rows([1.0, 2.5])])
    kept, conflicts = deduplicate(repeated)
    assert kept["value"].to_list() == [1.0, 3.0]
    assert sorted(conflicts["value"].to_list()) == [2.0, 2.5]


def test_observations_are_append_only_with_revisions(tmp_path):
    uri = str(tmp_path / "obs")
    first = append_observations(uri, rows([1.0, 2.0]), "a" * 64, "r1")
    again = append_observations(uri, rows([1.0, 2.0]), "a" * 64, "r2")
    revised = append_observations(uri, rows([1.0, 2.2, 3.0]), "b" * 64, "r3")
    assert (first.new, again.new, again.revised, again.delta_version) == (2, 0, 0, None)
    assert (revised.new, revised.revised, revised.unchanged) == (1, 1, 1)
    now = current_observations(uri)
    assert now["value"].to_list() == [1.0, 2.2, 3.0]
    every = pl.read_delta(uri)
    assert every.height == 4  # the first value of the revised time stamp is kept
