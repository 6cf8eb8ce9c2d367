"""The viewer's API and tiles over the small sample territory, through Starlette's client."""

from __future__ import annotations

import dataclasses
import io
import math
import shutil

import mapbox_vector_tile
import numpy as np
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from jnft.quality.fiche import load_fiches
from jnft.viewer import create_app
from tests.viewer.conftest import Client, asgi_get

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(viewer_url) -> Client:
    return Client(viewer_url)


@pytest.fixture(scope="module")
def town(client) -> tuple[int, int, int]:
    """The zoom-13 tile at the centre of the territory (most of the small one)."""
    west, south, east, north = client.get("/api/territory").json()["bounds"]
    return lonlat_tile((west + east) / 2, (south + north) / 2, 13)


def lonlat_tile(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def test_territory_lists_scenarios_vintages_and_public_layers_only(client, viewer_settings):
    info = client.get("/api/territory").json()
    assert [s["id"] for s in info["scenarios"]] == [
        "crue_q100",
        "crue_q1000",
        "submersion_tempete_slr60",
    ]
    assert info["vintages"] == ["2023-03-15", "2025-03-15"]
    assert info["buildings"] == "batiment" and info["hillshade"]
    layers = client.get("/api/layers").json()
    batiment = next(layer for layer in layers if layer["id"] == "batiment")
    assert len(batiment["checks"]) == 10
    assert all(check["passed"] for check in batiment["checks"].values())


def test_a_restricted_concept_never_appears(viewer_settings, tmp_path):
    """A concept made restricted after its gold file was written is not served."""
    project = tmp_path / "project"
    shutil.copytree(viewer_settings.concepts, project / "concepts")
    (project / "scenarios").symlink_to(viewer_settings.scenarios)
    fiche = project / "concepts" / "troncon_de_route.yaml"
    fiche.write_text(
        fiche.read_text(encoding="utf-8").replace(
            "modality: open_download", "modality: restricted"
        ),
        encoding="utf-8",
    )
    settings = dataclasses.replace(viewer_settings, project=project)
    assert not next(
        f for f in load_fiches(settings.concepts) if f.id == "troncon_de_route"
    ).is_public
    app = create_app(settings)
    assert b"troncon_de_route" not in asgi_get(app, "/api/layers")[1]
    assert b"troncon_de_route" not in asgi_get(app, "/api/territory")[1]
    assert asgi_get(app, "/tiles/troncon_de_route/13/0/0.mvt")[0] == 404


def test_vector_tiles_are_mvt_of_the_gold_layer_and_as_of_a_date(client, town):
    z, x, y = town
    now = mapbox_vector_tile.decode(client.get(f"/tiles/batiment/{z}/{x}/{y}.mvt").content)
    before = mapbox_vector_tile.decode(
        client.get(f"/tiles/batiment/{z}/{x}/{y}.mvt?asof=2024-01-01").content
    )
    ids_now = {f["properties"]["feature_id"] for f in now["batiment"]["features"]}
    ids_before = {f["properties"]["feature_id"] for f in before["batiment"]["features"]}
    assert ids_now and ids_before and ids_now != ids_before
    counted = client.get("/api/asof/batiment?date=2024-01-01").json()
    assert counted["features"] > 0
    assert client.get("/api/asof/batiment?date=hier").status_code == 400


def test_raster_tiles_are_pngs_with_hillshade_and_depth(client, town):
    z, x, y = town
    shade = np.asarray(
        Image.open(io.BytesIO(client.get(f"/tiles/hillshade/{z}/{x}/{y}.png").content))
    )
    assert (
        shade.shape == (256, 256, 4)
        and (shade[..., 3] == 255).mean() > 0.2
        and shade[..., 0].std() > 1
    )
    depth = np.asarray(
        Image.open(io.BytesIO(client.get(f"/tiles/depth/crue_q1000/{z}/{x}/{y}.png").content))
    )
    assert (depth[..., 3] > 0).sum() > 100
    legend = client.get("/api/legends/depth").json()
    assert legend["unit"] == "m" and legend["classes"][0]["label"] == "0-0.5 m"
    assert client.get(f"/tiles/depth/nope/{z}/{x}/{y}.png").status_code == 404


def test_a_building_has_its_depth_and_a_commune_its_exposure(client, town):
    z, x, y = town
    tile = mapbox_vector_tile.decode(client.get(f"/tiles/batiment/{z}/{x}/{y}.mvt").content)
    ids = [f["properties"]["feature_id"] for f in tile["batiment"]["features"]]
    infos = [client.get(f"/api/buildings/{i}").json() for i in ids[:200]]
    wet = [i for i in infos if any(f["depth_class"] for f in i["flooding"])]
    assert wet, "no building of the town tile is flooded in any scenario"
    assert "cleabs" in wet[0]["attributes"]
    code = client.get("/api/territory").json()["commune_code"]
    communes = mapbox_vector_tile.decode(client.get(f"/tiles/commune/{z}/{x}/{y}.mvt").content)
    insee = communes["commune"]["features"][0]["properties"][code]
    exposure = client.get(f"/api/communes/{insee}/exposure").json()
    assert exposure["exposure"] and exposure["name"]
    assert client.get("/api/buildings/nope").status_code == 404


def test_another_app_is_mounted_under_ogc_beside_the_front_end(viewer_settings, client):
    ogc = Starlette(routes=[Route("/", lambda _: PlainTextResponse("ogc landing"))])
    app = create_app(viewer_settings, mounts={"/ogc": ogc})
    assert asgi_get(app, "/ogc/") == (200, b"ogc landing")
    assert asgi_get(app, "/api/legends/depth")[0] == 200
    assert b'<div id="map"' in client.get("/").content
