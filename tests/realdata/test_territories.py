"""Territories built from the real samples of ../shared/data, through the CLI as a user runs
them: a BD ALTI grid without CRS and a declared discharge on a derived network; a LiDAR HD
tile's DTM under declared still-water levels; communes with INSEE's populations as the
admin units."""

import os

import numpy as np
import pytest
import rasterio
from rasterio.merge import merge

from jnft.assets.simulation import admin_units
from jnft.lakehouse.store import Lakehouse
from jnft.orchestration.cli import main
from jnft.products.territory import add_territory
from jnft.quality.fiche import load_fiches
from tests.orchestration.test_territories import user, volume_conserved  # noqa: F401
from tests.products.test_territory import landed_rows

pytestmark = pytest.mark.integration

ISERE = "dem/geoxygene__bdalti_echantillon38_ISERE_100.asc"
LIDAR = "lidar/las-digital-models__test_semis_2023_0299_6802_LA93_IGN69.laz"


def deliver(shared_data, delivery, links: dict[str, str]) -> None:
    """A delivery folder holding the real files under their products' names."""
    for source, target in links.items():
        (delivery / target).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(shared_data / source, delivery / target)


def init_and_add(user, monkeypatch, delivery) -> None:  # noqa: F811
    assert main(["init", "projet"]) == 0
    monkeypatch.chdir(user / "projet")
    assert main(["territory", "add", str(delivery)]) == 0


def maps(user, scenario: str) -> tuple[np.ndarray, rasterio.Affine]:  # noqa: F811
    folder = user / "projet" / "lakehouse" / "gold" / "simulation" / scenario
    sources = [rasterio.open(p) for p in sorted(folder.glob("*/max_depth.tif"))]
    depth, transform = merge(sources, nodata=np.nan)
    return np.nan_to_num(depth[0]), transform


def test_a_declared_discharge_on_the_isere_bd_alti_follows_the_valley_floor(
    shared_data,
    user,  # noqa: F811
    monkeypatch,
):
    delivery = user / "livraison"
    deliver(shared_data, delivery, {
        ISERE: "BDALTIV2_2-0_100M_ASC_LAMB93-IGN69_D038_2020-01-01/"
        "BDALTIV2_100M_FXX_0914_6460_MNT_LAMB93_IGN69.asc"
    })  # fmt: skip
    init_and_add(user, monkeypatch, delivery)
    (user / "projet" / "scenarios" / "crue_isere.yaml").write_text(
        "id: crue_isere\ntitle: Crue de projet\ndescription: A study's design discharge.\n"
        "kind: river\nriver: {peak_discharge_m3s: 600, time_to_peak_h: 4, inflow_width_m: 200}\n"
        "duration_h: 12\nresolution_m: 100\nnetwork_threshold_km2: 2\n",
        encoding="utf-8",
    )
    assert main(["run"]) == 0
    assert volume_conserved(user)
    depth, transform = maps(user, "crue_isere")
    with rasterio.open(shared_data / ISERE) as dem:
        z = dem.read(1, masked=True)
        rows, cols = rasterio.transform.rowcol(
            transform, *rasterio.transform.xy(dem.transform, *np.indices(z.shape).reshape(2, -1))
        )
    wet = depth[np.clip(rows, 0, depth.shape[0] - 1), np.clip(cols, 0, depth.shape[1] - 1)]
    wet = wet.reshape(z.shape) > 0.05
    assert wet.sum() > 100
    # The water lies in the valley: the wet cells' ground is in the DEM's lowest quarter.
    assert np.ma.median(z[wet]) < np.percentile(z.compressed(), 25)


def test_a_lidar_dtm_floods_more_under_a_higher_still_water_level(
    shared_data,
    user,  # noqa: F811
    monkeypatch,
    capsys,
):
    delivery = user / "livraison"
    deliver(
        shared_data,
        delivery,
        {LIDAR: "LIDARHD_2023-06-01/LHD_FXX_0299_6802_PTS_C_LAMB93_IGN69.laz"},
    )
    init_and_add(user, monkeypatch, delivery)
    for level in (130, 134):
        (user / "projet" / "scenarios" / f"niveau_{level}.yaml").write_text(
            f"id: niveau_{level}\ntitle: Plan d'eau à {level} m\ndescription: A declared level.\n"
            f"kind: coastal\ncoastal: {{still_water_level_m: {level}, sea_edges: [west]}}\n"
            "duration_h: 6\nresolution_m: 5\n",
            encoding="utf-8",
        )
    assert main(["run"]) == 0
    assert volume_conserved(user)
    flooded = [int((maps(user, f"niveau_{level}")[0] > 0.05).sum()) for level in (130, 134)]
    assert 0 < flooded[0] < flooded[1]
    capsys.readouterr()
    assert main(["design", "niveau_134"]) == 0
    assert "peak_level_m: 134" in capsys.readouterr().out


def test_communes_take_insee_populations_as_admin_units(shared_data, tmp_path):
    delivery, project = tmp_path / "livraison", tmp_path / "projet"
    deliver(shared_data, delivery, {
        "vector/france-geojson__communes-17-charente-maritime.geojson": (
            "ADMIN-EXPRESS-GEOJSON_2024-01-01/communes-17-charente-maritime.geojson"
        ),
        "population/decoupage-administratif__donnees_communes.csv": (
            "populations-legales_2024-01-01/donnees_communes.csv"
        ),
    })  # fmt: skip
    report = add_territory(delivery, project)
    assert report.roles["admin_units"] == "commune" and "populations" in report.roles
    assert all(n > 0 for n in landed_rows(delivery, project, tmp_path).values())
    units = admin_units(Lakehouse.at(tmp_path / "lake"), load_fiches(project / "concepts"))
    population = dict(zip(units.columns["code"], units.columns["population"], strict=True))
    assert population["17300"] == 78535  # La Rochelle, population municipale
    assert np.isfinite(list(population.values())).mean() > 0.99
