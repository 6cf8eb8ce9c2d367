import numpy as np
import pytest

from jnft.ingest.bronze import land_files
from jnft.ingest.raster import RasterSource, ingest_raster
from jnft.lakehouse.read import dem_mosaic, station_series
from jnft.lakehouse.store import Lakehouse


def test_the_dem_mosaic_reads_the_tiles_with_no_data_as_nan(small_sources, tmp_path):
    store = Lakehouse.at(tmp_path)
    entries, _ = land_files(
        store, "rge_alti", small_sources, "rge_alti/*/*.asc", r"_(\d{4}-\d{2}-\d{2})/"
    )
    ingest_raster(store, "mnt", RasterSource("EPSG:2154", 5.0, -99999.0, "float32"), entries,
                  tiles=None, run_id="r")  # fmt: skip
    # A window reaching beyond the sample's 4 km: NaN there, elevations inside.
    z = dem_mosaic(store, "mnt", (387_497.5, 6_543_502.5, 392_502.5, 6_546_002.5), 5.0)
    assert z.shape == (500, 1001)
    assert np.isnan(z[:, :50]).all() and np.isfinite(z[:390, 200:800]).all()


def test_a_missing_series_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Q series of station X in hydrometrie"):
        station_series(Lakehouse.at(tmp_path), "hydrometrie", "X", "Q")
