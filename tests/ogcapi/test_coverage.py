"""OGC API – Coverages over the raster concepts, through OWSLib and plain HTTP: a subset or a
box across two tiles comes back with the COGs' own cells, as CoverageJSON or GeoTIFF."""

import json
from io import BytesIO

import numpy as np
import pyproj
import pytest
import rasterio
import requests
from owslib.ogcapi.coverages import Coverages
from rasterio.windows import from_bounds

from jnft.lakehouse.database import connect

pytestmark = pytest.mark.integration


def cogs(settings, concept: str) -> list[str]:
    with connect(settings.lakehouse / "lakehouse.duckdb") as con:
        return [h for (h,) in con.sql(f"SELECT href FROM {concept}_cog ORDER BY tile").fetchall()]


def read_direct(paths: list[str], bounds: tuple[float, float, float, float]) -> np.ndarray:
    """The cells within `bounds` (on the grid), each read from the COG that holds it."""
    x0, y0, x1, y1 = bounds
    parts = []
    for path in paths:
        with rasterio.open(path) as cog:
            left, _, right, _ = cog.bounds
            if min(x1, right) <= max(x0, left):
                continue
            window = from_bounds(max(x0, left), y0, min(x1, right), y1, cog.transform)
            parts.append(cog.read(1, window=window.round_offsets().round_lengths()))
    return np.hstack(parts)


def test_raster_concepts_are_coverages(server):
    api = Coverages(server)
    assert {"mnt", "nuage_lidar_mnt", "nuage_lidar_mns"} <= set(api.coverages())
    described = api.collection("mnt")
    assert [g["resolution"] for g in described["extent"]["spatial"]["grid"]] == [5.0, 5.0]
    assert api.collection_schema("mnt")["properties"]["mnt"]["x-ogc-unit"] == "m"


def test_a_subset_across_two_tiles_has_the_cogs_values(server, project):
    paths = cogs(project, "mnt")
    assert len(paths) == 2
    with rasterio.open(paths[0]) as west:
        edge = west.bounds.right  # the seam between the two tiles
        top = west.bounds.top
    # Whole cells: 4 west of the seam, 4 east of it, 3 rows.
    bounds = (edge - 20, top - 15, edge + 20, top)
    answer = Coverages(server).coverage(
        "mnt", subset={"x": (bounds[0] + 1, bounds[2] - 1), "y": (bounds[1] + 1, bounds[3] - 1)}
    )
    coverage = json.load(answer)
    axes = coverage["domain"]["axes"]
    assert (axes["x"]["num"], axes["y"]["num"]) == (8, 3)
    assert axes["x"]["start"] == bounds[0] + 2.5 and axes["y"]["start"] == bounds[3] - 2.5
    assert coverage["domain"]["referencing"][0]["system"]["id"].endswith("/EPSG/0/2154")
    expected = read_direct(paths, bounds)
    assert coverage["ranges"]["mnt"]["shape"] == [3, 8]
    assert coverage["ranges"]["mnt"]["values"] == [float(v) for v in expected.ravel()]


def test_a_lonlat_box_as_geotiff_has_the_cogs_values(server, project):
    paths = cogs(project, "mnt")
    with rasterio.open(paths[1]) as east:
        x, y = east.xy(10, 10)  # a cell's centre
    to_lonlat = pyproj.Transformer.from_crs("EPSG:2154", "OGC:CRS84", always_xy=True)
    lon0, lat0 = to_lonlat.transform(x - 12, y - 12)
    lon1, lat1 = to_lonlat.transform(x + 12, y + 12)
    response = requests.get(
        f"{server}/collections/mnt/coverage",
        params={"bbox": f"{lon0},{lat0},{lon1},{lat1}", "f": "GTiff"},
        timeout=60,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/tiff")
    with rasterio.open(BytesIO(response.content)) as tiff:
        assert tiff.crs.to_epsg() == 2154 and tiff.nodata == -99999.0
        values = tiff.read(1)
        bounds = tuple(tiff.bounds)
    assert values.shape[0] >= 5 and values.shape[1] >= 5  # every cell the box meets
    assert bounds[0] <= x - 12 and bounds[2] >= x + 12
    assert np.array_equal(values, read_direct(paths, bounds))


def test_mistakes_are_told(server):
    def error(**params) -> str:
        response = requests.get(f"{server}/collections/mnt/coverage", params=params, timeout=30)
        assert response.status_code == 400
        return response.json()["description"]

    assert "outside the coverage" in error(subset="x(0:10),y(0:10)")
    assert "current mosaic" in error(datetime="2022-01-01T00:00:00Z")
    assert "not a CRS" in error(bbox="0,0,1,1", **{"bbox-crs": "nowhere"})
