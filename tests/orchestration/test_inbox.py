import os
import time

from jnft.orchestration.inbox import matching_fiches, route, settled_files
from jnft.quality.fiche import load_fiches
from tests.factories import CONCEPTS_DIR

fiches = load_fiches(CONCEPTS_DIR)


def ids(path):
    return [f.id for f in matching_fiches(path, fiches)]


def test_paths_route_to_the_fiches_of_their_source():
    assert ids("rge_alti/RGEALTI_2-0_5M_X_2026-01-01/RGEALTI_FXX_0390_6550.asc") == ["mnt"]
    assert "batiment" in ids("bdtopo/BDTOPO_3-4_R75_2026-03-15/BDTOPO_3-4_R75_2026-03-15.gpkg")
    assert ids("hubeau/jaugeages_R521001001_2026-01-31.csv") == ["hydrometrie"]  # gaugings
    assert ids("elsewhere/file.gpkg") == []


def test_sidecars_follow_their_shapefile_and_fresh_files_wait(tmp_path):
    for suffix in (".shp", ".dbf", ".shx"):
        (tmp_path / f"COMMUNE{suffix}").write_bytes(b"x")
        os.utime(tmp_path / f"COMMUNE{suffix}", (time.time() - 60, time.time() - 60))
    (tmp_path / "COMMUNE.prj").write_text("fresh")  # still being copied: the group waits
    assert settled_files(tmp_path, 5) == []
    os.utime(tmp_path / "COMMUNE.prj", (time.time() - 60, time.time() - 60))
    assert [p.name for p in settled_files(tmp_path, 5)] == ["COMMUNE.shp"]


def test_an_unreadable_delivery_may_touch_any_tile(tmp_path):
    path = tmp_path / "lidar_hd" / "LIDARHD_2026-01-01" / "LHD_FXX_0390_6545.laz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a point cloud")
    delivery = route(path, tmp_path, fiches)
    assert [f.id for f in delivery.fiches] == ["nuage_lidar"] and delivery.tiles is None
