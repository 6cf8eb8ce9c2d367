"""The viewer's API and tiles over the small sample territory, through Starlette's client."""

from __future__ import annotations

import dataclasses
import gzip
import io
import math
import shutil

import mapbox_vector_tile
import numpy as np
import pyproj
import pytest
from PIL import Image
from pmtiles.reader import Reader
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from jnft.publish.floodmaps import UNITS
from jnft.quality.fiche import load_fiches
from jnft.viewer import create_app, raster
from jnft.viewer.app import byte_range
from jnft.viewer.territory import Territory
from tests.viewer.conftest import Client, asgi_get

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(viewer_url) -> Client:
    return Client(viewer_url)


@pytest.fixture(scope="module")
def territory(viewer_settings) -> Territory:
    """The lakehouse as the served viewer reads it (for what its tiles should show)."""
    return Territory(viewer_settings)


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
    # Its archive, made while it was public, is not served either.
    assert (viewer_settings.lakehouse / "gold" / "troncon_de_route.pmtiles").exists()
    assert asgi_get(app, "/pmtiles/troncon_de_route.pmtiles")[0] == 404


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


def png_tile(client: Client, path: str) -> np.ndarray:
    reply = client.get(path)
    assert reply.status_code == 200 and reply.headers["content-type"] == "image/png", path
    return np.asarray(Image.open(io.BytesIO(reply.content)).convert("RGBA"))


def test_raster_tiles_are_pngs_with_hillshade(client, town):
    z, x, y = town
    shade = png_tile(client, f"/tiles/hillshade/{z}/{x}/{y}.png")
    assert (
        shade.shape == (256, 256, 4)
        and (shade[..., 3] == 255).mean() > 0.2
        and shade[..., 0].std() > 1
    )


@pytest.mark.parametrize("product", ["max_depth", "max_speed", "arrival"])
def test_flood_tiles_colour_each_cell_of_the_cogs_in_its_class(client, town, territory, product):
    """Every pixel where the COGs have a wet value is in its class's colour, every other one
    transparent (PNG is lossless: the colours are exact)."""
    z, x, y = town
    tile = png_tile(client, f"/tiles/flood/{product}/crue_q1000/{z}/{x}/{y}.png")
    flood = raster.FLOOD_PRODUCTS[product]
    values = raster.warp(
        territory.flood_maps("crue_q1000", product), raster.mercator_bounds(z, x, y)
    )
    values = values * flood.per_stored_unit
    wet = values > flood.floor
    assert wet.sum() > 100
    assert (tile[..., 3] > 0).tolist() == wet.tolist()
    for (_, low, high), colour in zip(flood.classes, flood.colours, strict=True):
        inside = wet & (values > low) & (values <= high)
        assert (tile[inside] == colour).all(), (product, colour)
    assert client.get(f"/tiles/flood/{product}/nope/{z}/{x}/{y}.png").status_code == 404


def test_flood_legends_give_the_classes_in_their_units(client):
    info = client.get("/api/territory").json()
    assert [p["id"] for p in info["flood_products"]] == ["max_depth", "max_speed", "arrival"]
    depth, speed, arrival = (client.get(p["legend"]).json() for p in info["flood_products"])
    assert depth["unit"] == "m" and depth["classes"][0]["label"] == "0-0.5 m"
    assert speed["unit"] == "m/s" and [c["label"] for c in speed["classes"]] == [
        "< 0.2 m/s",
        "0.2-0.5 m/s",
        "0.5-1 m/s",
        "> 1 m/s",
    ]
    assert speed["classes"][0]["min"] is None and speed["classes"][-1]["max"] is None
    # Arrival is stored in seconds and classed in hours.
    assert UNITS["arrival"] == "s"
    assert arrival["unit"] == "h" and [c["max"] for c in arrival["classes"]] == [1, 3, 6, None]
    assert all(c["color"].startswith("#") for c in speed["classes"] + arrival["classes"])
    assert client.get("/api/legends/screening_depth").status_code == 404
    assert client.get("/tiles/flood/nope/crue_q1000/13/0/0.png").status_code == 404


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
    assert asgi_get(app, "/api/legends/max_depth")[0] == 200
    assert b'<div id="map"' in client.get("/").content


def http_range(client: Client, path: str):
    """A `get_bytes` for the pmtiles reader through HTTP range requests, as browsers read."""

    def get_bytes(offset: int, length: int) -> bytes:
        reply = client.get(path, {"Range": f"bytes={offset}-{offset + length - 1}"})
        assert reply.status_code == 206, reply.status_code
        assert reply.headers["content-range"].startswith(f"bytes {offset}-")
        return reply.content

    return get_bytes


def test_the_pmtiles_archive_is_read_by_range_and_holds_the_on_request_tiles(client, town):
    """Each layer's archive answers range requests with 206, and a tile read from it has the
    features the on-request tile of the same address has."""
    info = client.get("/api/territory").json()
    assert set(info["pmtiles"]) == set(info["vector_layers"])
    archive = Reader(http_range(client, info["pmtiles"]["batiment"]))
    assert (archive.header()["min_zoom"], archive.header()["max_zoom"]) == (8, 16)
    z, x, y = town
    for zoom in (z, 15):
        n = 2 ** (zoom - z)
        for tx, ty in ((x * n + i, y * n + j) for i in range(n) for j in range(n)):
            stored = archive.get(zoom, tx, ty)
            made = client.get(f"/tiles/batiment/{zoom}/{tx}/{ty}.mvt").content
            ids = {
                layer: {
                    f["properties"]["feature_id"]
                    for f in tile.get("batiment", {"features": []})["features"]
                }
                for layer, tile in (
                    (
                        "archive",
                        mapbox_vector_tile.decode(gzip.decompress(stored)) if stored else {},
                    ),
                    ("on request", mapbox_vector_tile.decode(made) if made else {}),
                )
            }
            assert ids["archive"] == ids["on request"], (zoom, tx, ty)
    assert client.get("/pmtiles/nope.pmtiles").status_code == 404


@pytest.mark.parametrize(
    ("header", "span"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=900-", (900, 999)),
        ("bytes=990-2000", (990, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=1000-", None),  # past the end: unsatisfiable
        ("bytes=-0", None),
        ("bytes=5-3", None),
        ("bytes=0-9, 20-29", None),  # several ranges
        ("items=0-9", None),
        ("bytes=-", None),
        (None, None),
    ],
)
def test_byte_range_reads_one_satisfiable_range(header, span):
    assert byte_range(header, 1000) == span


def test_the_archive_answers_ranges_and_leaves_the_rest_to_starlette(client, viewer_settings):
    path = "/pmtiles/batiment.pmtiles"
    data = (viewer_settings.lakehouse / "gold" / "batiment.pmtiles").read_bytes()
    size = len(data)
    whole = client.get(path)
    assert whole.status_code == 200 and whole.content == data
    for header, (first, last) in (
        ("bytes=0-126", (0, 126)),
        (f"bytes={size - 10}-", (size - 10, size - 1)),
        ("bytes=-10", (size - 10, size - 1)),
    ):
        part = client.get(path, {"Range": header})
        assert part.status_code == 206 and part.content == data[first : last + 1]
        assert part.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert part.headers["etag"] == whole.headers["etag"]
    assert client.get(path, {"Range": f"bytes={size}-"}).status_code == 416
    several = client.get(path, {"Range": "bytes=0-9, 20-29"})
    assert several.status_code == 206 and "multipart" in several.headers["content-type"]
    # A validator that no longer matches: the whole (current) file.
    stale = client.get(path, {"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert stale.status_code == 200 and stale.content == data


def test_the_point_cloud_comes_decimated_to_its_budget(client, viewer_settings):
    cloud = client.get("/api/territory").json()["pointcloud"]
    assert cloud["concept"] == "nuage_lidar"
    (tile,) = cloud["tiles"]
    body = client.get(f"/api/pointcloud/{tile['tile']}.bin?budget=50000").content
    count = (len(body) - 16) // 13
    assert len(body) == 16 + 13 * count and 0.8 * 50_000 <= count <= 50_000
    origin = np.frombuffer(body[:16], "<f8")
    xyz = np.frombuffer(body[16 : 16 + 12 * count], "<f4").reshape(-1, 3)
    classes = np.frombuffer(body[16 + 12 * count :], np.uint8)
    # Back to Lambert-93: every point lies in its 10 km tile, in the 1 km the file covers.
    to_l93 = pyproj.Transformer.from_crs("EPSG:3857", "EPSG:2154", always_xy=True)
    x, y = to_l93.transform(xyz[:, 0] + origin[0], xyz[:, 1] + origin[1])
    assert x.min() >= 389_999.9 and x.max() <= 391_000.1
    assert y.min() >= 6_543_999.9 and y.max() <= 6_545_000.1
    assert {2, 5, 6} <= set(np.unique(classes).tolist())  # ground, high vegetation, building
    assert 0 < np.median(xyz[:, 2]) < 200  # altitudes (scaled as mercator scales the ground)
    assert client.get(f"/api/pointcloud/{tile['tile']}.bin?budget=0").status_code == 400
    assert client.get("/api/pointcloud/0000_0000.bin").status_code == 404


def test_terrain_tiles_encode_the_dem_elevations(client, town):
    z, x, y = town
    rgb = np.asarray(
        Image.open(io.BytesIO(client.get(f"/tiles/terrain/{z}/{x}/{y}.png").content))
    ).astype(float)
    metres = rgb[..., 0] * 256 + rgb[..., 1] + rgb[..., 2] / 256 - 32768
    low, high = client.get("/api/territory").json()["elevation_m"]
    assert low - 1 <= metres.min() and metres.max() <= high + 1 and metres.std() > 0.5
