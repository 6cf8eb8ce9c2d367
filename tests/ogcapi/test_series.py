"""OGC API – EDR over the series concepts, through OWSLib: a station's observations in a
datetime window, by its location id, by a point near it and by an area around it, with the
values the lakehouse holds."""

import datetime as dt

import pytest
import requests
from owslib.ogcapi.edr import EnvironmentalDataRetrieval

from jnft.lakehouse.database import connect

pytestmark = pytest.mark.integration
WINDOW = "2020-01-01T00:00:00Z/2020-01-10T00:00:00Z"


def observed(settings, concept: str, station: str, variable: str) -> list[tuple[str, float]]:
    with connect(settings.lakehouse / "lakehouse.duckdb") as con:
        rows = con.execute(
            f'SELECT "time", value FROM {concept} WHERE station = ? AND variable = ? '
            "AND \"time\" BETWEEN '2020-01-01T00:00:00Z' AND '2020-01-10T00:00:00Z' "
            'ORDER BY "time"',
            [station, variable],
        ).fetchall()
    return [(t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), v) for t, v in rows]


def series_of(collection: dict, variable: str) -> list[tuple[str, float]]:
    (coverage,) = [c for c in collection["coverages"] if variable in c["ranges"]]
    times = coverage["domain"]["axes"]["t"]["values"]
    return list(zip(times, coverage["ranges"][variable]["values"], strict=True))


def test_series_are_edr_collections_with_their_stations(server):
    api = EnvironmentalDataRetrieval(server)
    assert {"hydrometrie", "maregraphe"} <= set(api.data())
    described = api.collection("hydrometrie")
    assert {"position", "area", "locations"} <= set(described["data_queries"])
    assert described["parameter_names"]["QmnJ"]["unit"]["symbol"]["value"] == "m3/s"
    stations = api.query_data("hydrometrie", "locations")
    assert [s["id"] for s in stations["features"]] == ["R521001001"]


def test_a_stations_observations_in_a_window(server, project):
    api = EnvironmentalDataRetrieval(server)
    expected = observed(project, "hydrometrie", "R521001001", "QmnJ")
    assert len(expected) >= 5
    by_id = api.query_data("hydrometrie", "locations/R521001001", datetime_=WINDOW)
    assert by_id["type"] == "CoverageCollection"
    assert series_of(by_id, "QmnJ") == expected
    assert by_id["parameters"]["QmnJ"]["unit"]["symbol"] == "m3/s"
    (lon, lat) = (
        by_id["coverages"][0]["domain"]["axes"]["x"]["values"]
        + by_id["coverages"][0]["domain"]["axes"]["y"]["values"]
    )
    near = api.query_data(
        "hydrometrie", "position", coords=f"POINT({lon + 0.0005} {lat})", datetime_=WINDOW
    )
    assert series_of(near, "QmnJ") == expected
    box = f"POLYGON(({lon - 0.01} {lat - 0.01},{lon + 0.01} {lat - 0.01},{lon + 0.01} {lat + 0.01},{lon - 0.01} {lat + 0.01},{lon - 0.01} {lat - 0.01}))"  # noqa: E501
    around = api.query_data("hydrometrie", "area", coords=box, datetime_=WINDOW)
    assert series_of(around, "QmnJ") == expected
    far = api.query_data("hydrometrie", "position", coords=f"POINT({lon + 0.01} {lat})")
    assert far["coverages"] == []


def test_parameter_name_selects_the_variables(server, project):
    response = requests.get(
        f"{server}/collections/hydrometrie/locations/R521001001",
        params={"datetime": WINDOW, "parameter-name": "QmnJ"},
        timeout=30,
    )
    collection = response.json()
    assert list(collection["parameters"]) == ["QmnJ"]
    assert {c["id"] for c in collection["coverages"]} == {"R521001001/QmnJ"}
    unknown = requests.get(
        f"{server}/collections/hydrometrie/locations/nowhere", params={"datetime": WINDOW}
    )
    assert unknown.status_code == 404 and "no station" in unknown.json()["description"]
