import shutil

import pytest
import rasterio

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
