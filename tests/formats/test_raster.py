import numpy as np
import pyproj
import pytest
import rasterio
import rasterio.crs
import rasterio.transform
from rasterio.transform import from_origin

from jnft.formats import raster
from jnft.formats.errors import SourceFileError


def ascii_grid(path, x0, y0, values, resolution=5.0, crs=None):
    """An ESRI ASCII grid whose first cell centre is (x0, y0), like RGE ALTI."""
    transform = from_origin(x0 - resolution / 2, y0 + resolution / 2, resolution, resolution)
    raster.write_ascii_grid(values.astype("float32"), transform, path, nodata=-99999.0, crs=crs)
    return path


def test_tiles_are_seamless_across_their_edge(tmp_path):
    # A 5 km × 5 km source straddling the boundary x = 390 000 between two tiles.
    n = 100
    values = np.add.outer(np.arange(n), np.arange(n) * 1000.0)
    path = ascii_grid(tmp_path / "a.asc", 389_750.0, 6_545_000.0, values, resolution=5.0)
    src = raster.inspect_source(path, "EPSG:2154", 5.0)
    west, tw = raster.mosaic_tile([src], "0380_6550", resolution=5, nodata=-99999, dtype="float32")
    east, te = raster.mosaic_tile([src], "0390_6550", resolution=5, nodata=-99999, dtype="float32")
    # Each tile's COG spans only the covered window, cut at the shared cell edge 389 997.5.
    assert (tw.c + tw.a * west.shape[1], te.c) == (389_997.5, 389_997.5)
    assert west.shape == east.shape == (n, n // 2)  # 50 columns each side: none lost or doubled
    assert (west != -99999).all() and (east != -99999).all()
    assert west[:, -1].max() + 1000 == east[:, 0].max()


def test_misaligned_source_is_refused(tmp_path):
    src = ascii_grid(tmp_path / "m.asc", 389_751.0, 6_545_000.0, np.ones((4, 4)))
    with pytest.raises(SourceFileError, match=r"not on multiples of 5\.0 m in EPSG:2154"):
        raster.inspect_source(src, "EPSG:2154", 5.0)


def test_cog_is_written_with_overviews_and_nodata(tmp_path):
    array = np.full((1024, 1024), -99999.0, dtype="float32")
    array[100:900, 100:900] = 12.5
    path = tmp_path / "t.tif"
    transform = from_origin(379_997.5, 6_550_002.5, 5, 5)
    raster.write_cog(array, transform, "EPSG:2154", -99999.0, path)
    with rasterio.open(path) as src:
        assert src.nodata == -99999.0 and src.crs.to_epsg() == 2154
        assert src.overviews(1) and src.profile["tiled"]
        assert src.read(1)[500, 500] == 12.5
    info = raster.describe(
        array, transform, tile="0380_6550", path=path, crs="EPSG:2154", nodata=-99999.0
    )
    assert info.minimum == info.maximum == 12.5
    assert info.valid_fraction == pytest.approx(800 * 800 / 1024**2)
    assert info.bounds == (379_997.5 + 500, 6_550_002.5 - 4500, 379_997.5 + 4500, 6_550_002.5 - 500)


def test_missing_crs_needs_the_fiche(tmp_path):
    src = ascii_grid(tmp_path / "n.asc", 390_000.0, 6_545_000.0, np.ones((2, 2)))
    with pytest.raises(ValueError, match="no CRS"):
        raster.source_crs(src, None)
    assert raster.source_crs(src, "EPSG:2154") == "EPSG:2154"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: rows.__setitem__(2, rows[2].replace("12.50", "n/a", 1)), "line 9: 'n/a'"),
        (lambda rows: rows.__setitem__(3, " ".join(rows[3].split()[:-1])), "line 10: 3 values"),
        (lambda rows: rows.pop(), "3 rows of values where nrows is 4"),
    ],
)
def test_an_ascii_grid_gdal_would_misread_is_refused_naming_the_line(tmp_path, edit, message):
    """GDAL reads a non-number as 0.0 and pads short rows: those files never reach the DEM."""
    path = tmp_path / "dem.asc"
    raster.write_ascii_grid(
        np.full((4, 4), 12.5), from_origin(379_997.5, 6_550_002.5, 5, 5), path, nodata=-99999.0
    )
    lines = path.read_text().splitlines()
    header, rows = lines[:6], lines[6:]
    assert len(rows) == 4 and "12.50" in rows[2]
    raster.inspect_source(path, "EPSG:2154", 5.0)  # as written, it reads
    edit(rows)
    path.write_text("\n".join(header + rows) + "\n")
    with pytest.raises(SourceFileError, match=message):
        raster.inspect_source(path, "EPSG:2154", 5.0)


def geotiff(path, crs, bounds, values):
    """A GeoTIFF in `crs` covering `bounds` (xmin, ymin, xmax, ymax) with `values`."""
    rows, cols = values.shape
    transform = rasterio.transform.from_bounds(*bounds, cols, rows)
    profile = {"driver": "GTiff", "width": cols, "height": rows, "count": 1}
    profile |= {"dtype": "float32", "crs": crs, "transform": transform, "nodata": -99999.0}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype("float32"), 1)
    return path


def lonlat_grid(path, west, south, east, north, n=120):
    """A GeoTIFF in EPSG:4326 whose value is the longitude in millidegrees (a plane)."""
    lon = np.linspace(west, east, n, endpoint=False) + (east - west) / n / 2
    values = np.tile(lon * 1000, (n, 1))
    return geotiff(path, "EPSG:4326", (west, south, east, north), values)


@pytest.mark.parametrize("resampling", ["bilinear", "nearest"])
def test_a_grid_in_degrees_is_reprojected_onto_the_tile_grid(tmp_path, resampling):
    """A GeoTIFF in EPSG:4326 over the territory lands on Lambert-93 cells whose centres sit on
    multiples of the resolution; bilinear follows the plane within a fraction of a source
    cell inside the source, nearest keeps source values only."""
    path = lonlat_grid(tmp_path / "dem.tif", -1.02, 45.92, -0.99, 45.94)
    source = raster.inspect_source(path, None, 5.0)
    assert source.crs == "EPSG:4326" and source.reprojected
    array, transform = raster.mosaic_tile(
        [source], "0380_6550", resolution=5, nodata=-99999, dtype="float32", resampling=resampling
    )
    assert transform.a == 5 and (transform.c + 2.5) % 5 == 0 and (transform.f - 2.5) % 5 == 0
    valid = array != -99999
    assert valid.mean() > 0.5
    rows, cols = np.nonzero(valid)
    x, y = rasterio.transform.xy(transform, rows, cols)
    lon, _ = pyproj.Transformer.from_crs(2154, 4326, always_xy=True).transform(x, y)
    error = np.abs(array[valid] - np.asarray(lon) * 1000)
    step = 0.03 / 120 * 1000  # one source cell, in millidegrees
    assert error.max() <= 0.51 * step  # at the edges, bilinear clamps to the nearest cell
    if resampling == "bilinear":
        assert np.percentile(error, 95) <= 0.05 * step
    if resampling == "nearest":
        with rasterio.open(path) as src:
            assert set(np.unique(array[valid])) <= set(np.unique(src.read(1)))


def test_a_grid_outside_france_is_refused_naming_where_it_lies(tmp_path):
    path = lonlat_grid(tmp_path / "oregon.tif", -123.1, 44.0, -123.0, 44.1)
    with pytest.raises(SourceFileError, match=r"lie at lon -123\.1000…-123\.0000, lat 44\.0000"):
        raster.inspect_source(path, None, 5.0)


def test_a_grid_outside_the_territory_is_refused_naming_where_it_lies(tmp_path):
    path = lonlat_grid(tmp_path / "alps.tif", 6.0, 45.0, 6.01, 45.01)
    with pytest.raises(SourceFileError, match=r"lon 6\.0000…6\.0100.*outside the territory") as e:
        raster.inspect_source(path, None, 5.0, (380_000, 6_540_000, 400_000, 6_550_000))
    assert e.value.criterion == "c06_extent"


def test_a_grid_in_a_crs_proj_cannot_transform_is_refused_naming_both(tmp_path):
    local = rasterio.crs.CRS.from_wkt('LOCAL_CS["chantier",UNIT["metre",1]]')
    path = geotiff(tmp_path / "local.tif", local, (0, 0, 100, 100), np.ones((20, 20)))
    with pytest.raises(SourceFileError, match="chantier cannot be brought to the territory's "):
        raster.inspect_source(path, None, 5.0)


def test_an_ascii_grid_without_crs_keeps_the_fiche_crs(tmp_path):
    path = ascii_grid(tmp_path / "l93.asc", 390_000.0, 6_545_000.0, np.ones((2, 2)))
    source = raster.inspect_source(path, "EPSG:2154", 5.0)
    assert source.crs == "EPSG:2154" and not source.reprojected
    assert source.bounds == (389_997.5, 6_544_992.5, 390_007.5, 6_545_002.5)
