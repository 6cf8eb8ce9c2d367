import shutil

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_bounds

from jnft.formats import raster
from jnft.ingest.bronze import land_files
from jnft.kinds import Scope, kind_of
from jnft.lakehouse.store import Lakehouse
from jnft.quality.checks import blocking_failures, evaluate
from jnft.quality.fiche import load_fiche
from jnft.quality.observe import observe
from tests.factories import CONCEPTS_DIR

MNT = load_fiche(CONCEPTS_DIR / "mnt.yaml")


@pytest.mark.parametrize("expected", [False, True])
def test_a_dem_vintage_covering_less_is_held(small_sources, tmp_path, expected):
    """A later delivery covering half the area would replace a complete tile with a partial
    one: C9 fails (blocking) and the published tile stays — unless the fiche expects it."""
    fiche = MNT.model_copy(
        update={"spec": MNT.spec.model_copy(update={"coverage_may_shrink": expected})}
    )
    sources = tmp_path / "sources"
    shutil.copytree(small_sources / "rge_alti", sources / "rge_alti")
    first = next((sources / "rge_alti").iterdir())
    later = first.with_name(first.name[:-10] + "2026-01-15")
    shutil.copytree(first, later)
    grid = next(later.glob("*.asc"))
    with rasterio.open(grid) as src:
        z, transform = src.read(1), src.transform
    z[:, : z.shape[1] // 2] = -99999.0  # half the area no longer delivered
    raster.write_ascii_grid(z, transform, grid, nodata=-99999.0)
    store = Lakehouse.at(tmp_path / "lake")
    kind = kind_of(fiche)
    source = fiche.source
    shutil.move(later, tmp_path / "later")  # the first vintage alone, published
    land_files(store, source.name, sources, source.pattern, source.vintage_pattern)
    kind.land(store, fiche, Scope(None, "first"))
    published = kind.current(store, fiche).select(["tile", "valid_cells"]).to_pylist()
    shutil.move(tmp_path / "later", later)
    land_files(store, source.name, sources, source.pattern, source.vintage_pattern)
    landing = kind.land(store, fiche, Scope(None, "second", audit=True))
    refused = blocking_failures(
        fiche, evaluate(fiche, observe(store, fiche, None, rows=landing.rows))
    )
    shrank = any("valid cells where the published version has" in r for r in refused)
    assert shrank != expected, refused
    if not expected:
        kind.hold(store, fiche, landing, refused)
        assert kind.current(store, fiche).select(["tile", "valid_cells"]).to_pylist() == published


def test_a_dem_in_degrees_is_reprojected_and_says_so(tmp_path):
    """A GeoTIFF DEM in EPSG:4326 lands on Lambert-93 tiles; the landing and the COG state
    the reprojection and the resampling, and the stored CRS is the declared one (C8, C10)."""
    source = MNT.source.model_copy(update={"pattern": "dem/*/*.tif", "format": "GTiff"})
    fiche = MNT.model_copy(update={"source": source})
    folder = tmp_path / "sources" / "dem" / "MNT_2024-01-01"
    folder.mkdir(parents=True)
    n = 120
    lon = np.linspace(-1.02, -0.99, n, endpoint=False)
    with rasterio.open(
        folder / "dem.tif",
        "w",
        driver="GTiff",
        width=n,
        height=n,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_bounds(-1.02, 45.92, -0.99, 45.94, n, n),
        nodata=-99999.0,
    ) as dst:
        dst.write(np.tile(10 + (lon + 1.02) * 1000, (n, 1)).astype("float32"), 1)
    store = Lakehouse.at(tmp_path / "lake")
    land_files(store, source.name, tmp_path / "sources", source.pattern, source.vintage_pattern)
    landing = kind_of(fiche).land(store, fiche, Scope(None, "run"))
    stated = "reprojected from EPSG:4326 to EPSG:2154 (bilinear resampling)"
    assert landing.values["lineage"] == {"0380_6550": stated, "0390_6550": stated}
    for row in kind_of(fiche).current(store, fiche).to_pylist():
        assert row["crs"] == "EPSG:2154" and row["resolution"] == 5.0
        with rasterio.open(store.root / row["path"]) as cog:
            assert cog.crs.to_epsg() == 2154 and (cog.transform.c + 2.5) % 5 == 0
    outcomes = evaluate(fiche, observe(store, fiche, None))
    assert all(outcomes[c].passed for c in ("c06_extent", "c08_precision", "c10_standard"))
