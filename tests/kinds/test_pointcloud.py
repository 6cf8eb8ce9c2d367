import numpy as np
import pytest

from jnft.ingest.bronze import land_files
from jnft.kinds import Scope, kind_of
from jnft.lakehouse.store import Lakehouse
from jnft.quality.checks import blocking_failures, evaluate
from jnft.quality.fiche import load_fiche
from jnft.quality.observe import observe
from tests.factories import CONCEPTS_DIR, write_las

LIDAR = load_fiche(CONCEPTS_DIR / "nuage_lidar.yaml")


def deliver(sources, vintage: str, lift: float, truncated: bool = False) -> None:
    """Two 200 m × 200 m LAZ files side by side in one tile, the second cut short if asked."""
    folder = sources / "lidar_hd" / f"LIDARHD_1-0_LAZ_LAMB93_{vintage}"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for x0 in (390_000.0, 390_200.0):
        x, y = x0 + rng.uniform(0, 200, 60_000), 6_544_000 + rng.uniform(0, 200, 60_000)
        path = folder / f"LHD_FXX_{int(x0) // 1000:04d}_6545_{int(x0) % 1000:03d}.laz"
        write_las(path, x, y, 10 + lift + 0.01 * (x - x0))
    if truncated:
        path.write_bytes(path.read_bytes()[:60_000])


@pytest.mark.parametrize("expected", [False, True])
def test_a_truncated_laz_does_not_replace_a_complete_tile(tmp_path, expected):
    """A new flight whose second file is truncated covers half the tile's published DTM: the
    file is quarantined, C9 fails (blocking) and the complete tile stays — unless the fiche
    expects the coverage to shrink."""
    spec = LIDAR.spec.model_copy(update={"coverage_may_shrink": expected})
    fiche = LIDAR.model_copy(update={"spec": spec})
    sources, store, kind = tmp_path / "sources", Lakehouse.at(tmp_path / "lake"), kind_of(fiche)
    source = fiche.source

    def land(run_id: str):
        land_files(store, source.name, sources, source.pattern, source.vintage_pattern)
        return kind.land(store, fiche, Scope(None, run_id, audit=True))

    deliver(sources, "2024-06-30", 0.0)
    kind.publish(store, fiche, land("first"))
    published = kind.current(store, fiche).select(["tile", "valid_cells", "zmin"]).to_pylist()
    deliver(sources, "2025-06-30", 1.0, truncated=True)
    landing = land("second")
    assert any("truncated or corrupt" in f for f in landing.values["rejected_files"])
    refused = blocking_failures(
        fiche, evaluate(fiche, observe(store, fiche, None, rows=landing.rows))
    )
    shrank = any("pointcloud.coverage_may_shrink" in r for r in refused)
    assert shrank != expected, refused
    if shrank:
        kind.hold(store, fiche, landing, refused)
    else:
        kind.publish(store, fiche, landing)
    now = kind.current(store, fiche).select(["tile", "valid_cells", "zmin"]).to_pylist()
    assert (now == published) != expected


def test_a_tile_of_unclassified_points_reports_an_empty_dtm(tmp_path):
    """Every point of class 1 in a LAS 1.2 without CRS: the DTM holds no cell. The landing
    (and its preview) goes through, names the empty product, C6 keeps to the area the points
    cover and C9 fails."""
    folder = tmp_path / "sources" / "lidar_hd" / "LIDARHD_1-0_LAZ_LAMB93_2024-06-30"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(4)
    x, y = 399_000 + rng.uniform(0, 999, 20_000), 6_549_000 + rng.uniform(0, 999, 20_000)
    unclassified = np.ones(len(x), np.uint8)
    # A LAS 1.2 file without CRS (the fiche's applies), as older surveys deliver them.
    write_las(folder / "LHD_FXX_0399_6550.laz", x, y, 10 + 0 * x, unclassified,
              version="1.2", point_format=3, crs=None)  # fmt: skip
    # The territory is that one square kilometre, not the whole tile.
    extent = LIDAR.criteria.c06_extent.model_copy(
        update={"bbox": (399_000, 6_549_000, 400_000, 6_550_000)}
    )
    fiche = LIDAR.model_copy(
        update={"criteria": LIDAR.criteria.model_copy(update={"c06_extent": extent})}
    )
    store, kind, source = Lakehouse.at(tmp_path / "lake"), kind_of(fiche), fiche.source
    land_files(store, source.name, tmp_path / "sources", source.pattern, source.vintage_pattern)
    landing = kind.land(store, fiche, Scope(None, "run"))
    why = (
        "product 'mnt' empty: no point passes Classification[2:2],Classification[9:9],"
        'Classification[66:66] (the tile\'s points by class: {"1": 20000})'
    )
    assert landing.values["empty_tiles"] == {"0390_6550": why}
    assert landing.preview is not None
    outcomes = evaluate(fiche, observe(store, fiche, None))
    assert outcomes["c06_extent"].passed, outcomes["c06_extent"].description
    assert not outcomes["c09_quality"].passed
    assert f"tile 0390_6550: {why}" in outcomes["c09_quality"].description
