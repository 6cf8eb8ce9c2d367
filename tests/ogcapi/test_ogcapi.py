"""The OGC APIs served on a loopback port over a lakehouse of the small territory, through
OWSLib: the generated configuration, Features as of a date, a flood scenario as a job (and its
depth map then a coverage). Each API's own queries: test_coverage, test_series, test_records."""

import json
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import rasterio
import requests
from jsonschema_path import SchemaPath
from openapi_spec_validator import OpenAPIV30SpecValidator
from owslib.ogcapi.coverages import Coverages
from owslib.ogcapi.features import Features
from owslib.ogcapi.processes import Processes
from pygeoapi.config import validate_config
from pygeoapi.plugin import load_plugin

from jnft.lakehouse.database import connect
from jnft.ogcapi import pygeoapi_config
from jnft.ogcapi.config import build_config
from jnft.quality.fiche import load_fiches
from jnft.settings import Settings

pytestmark = pytest.mark.integration

SCENARIO = """id: crue_api
title: Crue courte
description: A short river flood declared by its peak, for the API's test.
kind: river
river: {peak_discharge_m3s: 120, time_to_peak_h: 0.5, inflow_width_m: 50}
duration_h: 1
resolution_m: 25
"""


def demolished(settings: Settings) -> tuple[str, list[float]]:
    """A building of the 2023 vintage gone from the 2025 one, and its box in lon/lat."""
    with connect(settings.lakehouse / "lakehouse.duckdb") as con:
        row = con.sql(
            "SELECT feature_id, ST_AsText(ST_Transform(ST_Centroid(geometry), 'EPSG:2154', "
            "'OGC:CRS84')) FROM batiment_history WHERE valid_to IS NOT NULL AND feature_id "
            "NOT IN (SELECT feature_id FROM batiment) ORDER BY feature_id LIMIT 1"
        ).fetchone()
    assert row is not None, "the sample has demolitions between its vintages"
    lon, lat = (float(v) for v in row[1].removeprefix("POINT (").rstrip(")").split())
    return row[0], [lon - 0.0005, lat - 0.0005, lon + 0.0005, lat + 0.0005]


def test_configuration_is_generated_from_the_public_fiches_and_valid(project):
    config = pygeoapi_config(project, "http://127.0.0.1/ogc")
    validate_config(config)
    fiches = load_fiches(project.concepts)
    public = {f.id: f.kind for f in fiches if f.is_public}
    resources = config["resources"]

    def of_type(kind: str) -> set[str]:
        return {k for k, v in resources.items() if kind in provider_types(v)}

    assert of_type("feature") == {k for k, v in public.items() if v in ("vector", "timeseries")}
    assert of_type("edr") == {k for k, v in public.items() if v == "timeseries"}
    # A raster concept is one coverage; a point cloud's rasters, one per product.
    assert of_type("coverage") == {"mnt", "nuage_lidar_mnt", "nuage_lidar_mns"}
    assert of_type("record") == {"catalogue"}
    assert resources["flood-scenario"]["type"] == "process"


def provider_types(resource: dict) -> list[str]:
    return [p["type"] for p in resource.get("providers", [])]


RESTRICTED = {"batiment", "mnt", "hydrometrie"}  # a layer, a raster, a series


def test_restricted_concepts_never_appear(project, tmp_path):
    fiches = load_fiches(project.concepts)
    restricted = [
        f.model_copy(
            update={
                "criteria": f.criteria.model_copy(
                    update={
                        "c05_licence": f.criteria.c05_licence.model_copy(
                            update={"licence": "restricted"}
                        )
                    }
                )
            }
        )
        if f.id in RESTRICTED
        else f
        for f in fiches
    ]
    assert not any(f.is_public for f in restricted if f.id in RESTRICTED)
    config = build_config(project, restricted, "http://127.0.0.1/ogc", tmp_path)
    validate_config(config)
    assert not RESTRICTED & set(config["resources"])
    assert {"commune", "maregraphe", "nuage_lidar_mnt", "catalogue"} <= set(config["resources"])
    # The catalog was written while they were public: their records are left out when read.
    records = load_plugin("provider", config["resources"]["catalogue"]["providers"][0])
    shown = records.query(limit=10000)["features"]
    assert shown and not RESTRICTED & {r["properties"]["collection"] for r in shown}
    bad = {**config, "server": {k: v for k, v in config["server"].items() if k != "url"}}
    with pytest.raises(jsonschema.ValidationError):
        validate_config(bad)


# EDR's path parameters, as its building blocks name them.
EDR_PATH_PARAMETERS = {"locationId": "locId", "instanceId": "instanceId"}


def ogc_building_block(uri: str) -> dict:
    """An offline stand-in for the OGC schemas' building blocks the document references
    (schemas.opengis.net): a parameter, a response or a schema of the right shape."""
    parameter = {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}
    if "/responses/" in uri:
        return {"description": "OGC response"}
    if "/schemas/" in uri:
        return {"type": "object"}
    if "/parameters/" in uri:  # named after its file: an operation's are distinct
        name = uri.rsplit("/", 1)[-1].removesuffix(".yaml").split("#")[0]
        if name in EDR_PATH_PARAMETERS:
            return {**parameter, "name": EDR_PATH_PARAMETERS[name]}
        return {"name": name, "in": "query", "schema": {"type": "string"}}
    responses = ["Collection", "Feature", "Features", "InvalidParameter", "LandingPage"]
    responses += ["NotFound", "ServerError"]
    return {
        "components": {
            "parameters": {
                "featureId": parameter,
                "datetime": {"name": "datetime", "in": "query", "schema": {"type": "string"}},
            },
            "responses": {name: {"description": name} for name in responses},
            "schemas": {"link": {"type": "object"}},
        }
    }


def test_openapi_document_is_valid(server):
    document = Features(server).api()
    handlers = {"http": ogc_building_block, "https": ogc_building_block}
    OpenAPIV30SpecValidator(SchemaPath.from_dict(document, handlers=handlers)).validate()
    assert "/collections/batiment/items" in document["paths"]
    assert "/collections/mnt/coverage" in document["paths"]
    assert "/collections/hydrometrie/position" in document["paths"]
    assert "/collections/catalogue/items" in document["paths"]
    assert "/processes/flood-scenario/execution" in document["paths"]


def test_collections_and_items_with_bbox_and_paging(server):
    api = Features(server)
    assert "batiment" in api.feature_collections()
    first = api.collection_items("batiment", limit=5)
    second = api.collection_items("batiment", limit=5, offset=5)
    assert first["numberReturned"] == 5 and first["numberMatched"] > 10
    assert not {f["id"] for f in first["features"]} & {f["id"] for f in second["features"]}
    lon, lat = first["features"][0]["geometry"]["coordinates"][0][0][0]
    box = [lon - 0.0003, lat - 0.0003, lon + 0.0003, lat + 0.0003]
    near = api.collection_items("batiment", bbox=box, limit=100)
    assert first["features"][0]["id"] in {f["id"] for f in near["features"]}
    assert near["numberMatched"] < first["numberMatched"]
    usage = first["features"][0]["properties"]["usage_1"]
    same = api.collection_items("batiment", usage_1=usage, limit=1000)
    assert {f["properties"]["usage_1"] for f in same["features"]} == {usage}
    one = api.collection_item("batiment", first["features"][0]["id"])
    assert one["properties"]["cleabs"] == first["features"][0]["properties"]["cleabs"]


def test_items_as_of_a_date_follow_the_history(server, project):
    building, box = demolished(project)
    api = Features(server)

    def found(**query) -> set[str]:
        items = api.collection_items("batiment", bbox=box, limit=100, **query)
        return {f["id"] for f in items["features"]}

    assert building in found(datetime_="2024-01-01T00:00:00Z")
    assert building not in found()  # today
    assert building not in found(datetime_=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    assert building in found(datetime_="2024-01-01T00:00:00Z/..")  # valid during the interval
    assert building not in found(datetime_="2025-06-01T00:00:00Z/..")
    gone = api.collection_item("batiment", building)  # its last version, closed
    assert gone["properties"]["valid_to"].startswith("2025-03-15")


def test_series_stations_are_features(server):
    stations = Features(server).collection_items("hydrometrie")
    assert stations["numberMatched"] >= 1
    assert stations["features"][0]["geometry"]["type"] == "Point"


def test_a_flood_scenario_runs_as_a_job_and_links_its_results(server, project):
    processes = Processes(server)
    assert "flood-scenario" in {p["id"] for p in processes.processes()}
    processes.execute("flood-scenario", {"scenario_yaml": SCENARIO}, response="raw", async_=True)
    job = processes.response_headers["Location"]
    deadline = time.monotonic() + 900
    while True:
        status = requests.get(job, params={"f": "json"}, timeout=30).json()
        if status["status"] in ("successful", "failed") or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert status["status"] == "successful", status.get("message")
    result = requests.get(f"{job}/results", params={"f": "json"}, timeout=30).json()
    assert result["scenario"] == "crue_api"
    assert result["tiles"] == ["0380_6550", "0390_6550"]
    products = {(m["tile"], m["product"]) for m in result["maps"]}
    assert ("0390_6550", "max_depth") in products and len(products) == 8
    assert all(Path(m["href"]).is_file() for m in result["maps"])
    cog = requests.get(result["maps"][0]["url"], timeout=30)
    assert cog.status_code == 200 and cog.content[:2] in (b"II", b"MM")
    assert all(set(r) >= {"commune", "depth_class", "buildings"} for r in result["exposure"])
    assert (project.scenarios / "crue_api.yaml").read_text(encoding="utf-8") == SCENARIO
    # The lakehouse changed: its depth map is a coverage without a restart, cell for cell.
    coverages = Coverages(server)
    assert "crue_api_max_depth" in coverages.coverages()
    depth = next(m for m in result["maps"] if m["product"] == "max_depth" and m["wet_cells"])
    with rasterio.open(depth["href"]) as cog:
        values = cog.read(1)
        row, col = np.argwhere(values > 0)[0]
        x, y = cog.xy(row, col)
    answer = coverages.coverage(
        "crue_api_max_depth", subset={"x": (x - 1, x + 1), "y": (y - 1, y + 1)}
    )
    assert json.load(answer)["ranges"]["max_depth"]["values"] == [float(values[row, col])]
