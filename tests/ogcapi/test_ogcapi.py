"""The OGC APIs served on a loopback port over a lakehouse of the small territory, through
OWSLib: the generated configuration, Features as of a date, a flood scenario as a job."""

import shutil
import socket
import threading
import time
from pathlib import Path

import dagster as dg
import jsonschema
import pytest
import requests
import uvicorn
from jsonschema_path import SchemaPath
from openapi_spec_validator import OpenAPIV30SpecValidator
from owslib.ogcapi.features import Features
from owslib.ogcapi.processes import Processes
from pygeoapi.config import validate_config

from jnft.lakehouse.database import connect
from jnft.ogcapi import ogc_app, pygeoapi_config
from jnft.ogcapi.config import build_config
from jnft.orchestration.definitions import build_definitions
from jnft.orchestration.demo import materialize_all
from jnft.orchestration.partitions import register_tiles, territory_tiles
from jnft.orchestration.resources import LakehouseResource
from jnft.quality.fiche import load_fiches
from jnft.settings import Settings
from tests.factories import PROJECT_DIR

pytestmark = pytest.mark.integration

SCENARIO = """id: crue_api
title: Crue courte
description: A short river flood declared by its peak, for the API's test.
kind: river
river: {peak_discharge_m3s: 120, time_to_peak_h: 0.5, inflow_width_m: 50}
duration_h: 1
resolution_m: 25
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def project(small_sources, tmp_path_factory):
    """A copy of the sample project (its scenarios/ receives the inline scenario), in force,
    with its lakehouse of the small territory and a persistent Dagster instance."""
    root = tmp_path_factory.mktemp("ogcapi")
    for folder in ("concepts", "scenarios", "sql"):
        shutil.copytree(PROJECT_DIR / folder, root / "project" / folder)
    settings = Settings(
        project=root / "project",
        lakehouse=root / "lakehouse",
        sources=small_sources,
        inbox=root / "inbox",
        dagster_home=root / "dagster_home",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JNFT_PROJECT_DIR", str(settings.project))
        settings.dagster_home.mkdir()
        with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            tiles = territory_tiles(small_sources)
            register_tiles(instance, tiles)
            resources = {"lakehouse": LakehouseResource.from_settings(settings)}
            results = materialize_all(instance, build_definitions(settings), tiles, resources)
        assert all(r.success for r in results)
        yield settings


@pytest.fixture(scope="module")
def server(project):
    """The app on a free loopback port, as uvicorn serves it; its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/ogc"
    app = ogc_app(project, url=url)
    from starlette.applications import Starlette
    from starlette.routing import Mount

    host = Starlette(routes=[Mount("/ogc", app=app)])  # mounted as the viewer mounts it
    config = uvicorn.Config(host, host="127.0.0.1", port=port, log_level="warning")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    while not served.started:
        time.sleep(0.05)
    yield url
    served.should_exit = True
    thread.join(timeout=10)


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
    served = {f.id for f in fiches if f.is_public and f.kind in ("vector", "timeseries")}
    collections = {k for k, v in config["resources"].items() if v["type"] == "collection"}
    assert collections == served
    assert config["resources"]["flood-scenario"]["type"] == "process"


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
        if f.id == "batiment"
        else f
        for f in fiches
    ]
    assert not next(f for f in restricted if f.id == "batiment").is_public
    config = build_config(project, restricted, "http://127.0.0.1/ogc", tmp_path)
    validate_config(config)
    assert "batiment" not in config["resources"]
    assert "commune" in config["resources"]
    bad = {**config, "server": {k: v for k, v in config["server"].items() if k != "url"}}
    with pytest.raises(jsonschema.ValidationError):
        validate_config(bad)


def ogc_building_block(uri: str) -> dict:
    """An offline stand-in for the OGC schemas' building blocks the document references
    (schemas.opengis.net): a parameter, a response or a schema of the right shape."""
    parameter = {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}
    if "/responses/" in uri:
        return {"description": "OGC response"}
    if "/schemas/" in uri:
        return {"type": "object"}
    if "/parameters/" in uri:
        return {"name": "sortby", "in": "query", "schema": {"type": "string"}}
    responses = ["Collection", "Feature", "Features", "InvalidParameter", "LandingPage"]
    responses += ["NotFound", "ServerError"]
    return {
        "components": {
            "parameters": {"featureId": parameter},
            "responses": {name: {"description": name} for name in responses},
            "schemas": {"link": {"type": "object"}},
        }
    }


def test_openapi_document_is_valid(server):
    document = Features(server).api()
    handlers = {"http": ogc_building_block, "https": ogc_building_block}
    OpenAPIV30SpecValidator(SchemaPath.from_dict(document, handlers=handlers)).validate()
    assert "/collections/batiment/items" in document["paths"]
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
