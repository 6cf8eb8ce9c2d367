"""OGC API – Records over the lakehouse's STAC catalog, through OWSLib: one record per concept
and per tile and vintage (or station), found by words, box and time."""

import pytest
from owslib.ogcapi.records import Records

pytestmark = pytest.mark.integration


def ids(found: dict) -> set[str]:
    return {r["id"] for r in found["features"]}


def test_the_catalog_is_a_records_collection(server):
    api = Records(server)
    assert api.records() == ["catalogue"]
    every = api.collection_items("catalogue", limit=1000)
    assert every["numberMatched"] == every["numberReturned"] > 10
    kinds = {r["properties"]["type"] for r in every["features"]}
    assert kinds == {"series", "dataset"}
    mnt = api.collection_item("catalogue", "mnt")
    assert mnt["properties"]["license"] == "etalab-2.0"
    assert {"rel": "item", "type": "application/json", "href": f"{server}/collections/mnt"} in mnt[
        "links"
    ]


def test_words_without_case_or_accents(server):
    api = Records(server)
    found = ids(api.collection_items("catalogue", q="MODELE numerique", limit=1000))
    assert "mnt" in found and "batiment" not in found
    either = ids(api.collection_items("catalogue", q="marégraphe,bâtiments", limit=1000))
    assert {"maregraphe", "batiment"} <= either and "mnt" not in either


def test_box_and_time(server):
    api = Records(server)
    tiles = api.collection_items("catalogue", collection="batiment", limit=1000)
    by_tile = {r["id"]: r for r in tiles["features"] if r["properties"]["type"] == "dataset"}
    assert set(by_tile) == {
        f"batiment-{t}-{v}"
        for t in ("0380_6550", "0390_6550")
        for v in ("2023-03-15", "2025-03-15")
    }
    concept = api.collection_item("catalogue", "batiment")["geometry"]["coordinates"][0]
    west = by_tile["batiment-0380_6550-2023-03-15"]["geometry"]["coordinates"][0]
    east = by_tile["batiment-0390_6550-2023-03-15"]["geometry"]["coordinates"][0]
    # A point of the concept's extent in the west tile only.
    lon = max(min(p[0] for p in concept), min(p[0] for p in west)) + 0.0005
    lat = max(min(p[1] for p in concept), min(p[1] for p in west)) + 0.0005
    assert lon + 0.0001 < min(p[0] for p in east)
    box = [lon, lat, lon + 0.0001, lat + 0.0001]
    inside = ids(api.collection_items("catalogue", bbox=box, collection="batiment", limit=100))
    assert inside == {"batiment", "batiment-0380_6550-2023-03-15", "batiment-0380_6550-2025-03-15"}
    then = ids(
        api.collection_items(
            "catalogue", bbox=box, datetime_="2024-01-01T00:00:00Z/2024-12-31T00:00:00Z", limit=100
        )
    )
    # A vintage's item is its date; the concept's record is open since its first vintage.
    assert "batiment" in then and not {i for i in then if i.startswith("batiment-")}
    stations = ids(api.collection_items("catalogue", datetime_="1995-01-01T00:00:00Z", limit=100))
    assert "hydrometrie-R521001001" in stations and "mnt" not in stations
