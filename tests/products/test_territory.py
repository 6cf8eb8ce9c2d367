import os
import shutil
from pathlib import Path

import pytest
import yaml

from jnft.ingest.bronze import land_files
from jnft.kinds import Scope, kind_of
from jnft.lakehouse.store import Lakehouse
from jnft.orchestration.partitions import territory_tiles
from jnft.products.territory import add_territory
from jnft.quality.fiche import load_fiche, load_fiches
from tests.products.deliveries import asc_tile, bdtopo2_shp, bdtopo3_shp, laz_tile


def landed_rows(delivery: Path, project: Path, tmp_path: Path) -> dict[str, int]:
    """Land every written fiche as the source assets do; rows per concept."""
    store = Lakehouse.at(tmp_path / "lake")
    rows = {}
    for fiche in load_fiches(project / "concepts"):
        land_files(
            store, fiche.source.name, delivery, fiche.source.pattern, fiche.source.vintage_pattern
        )
        landing = kind_of(fiche).land(store, fiche, Scope(None, "run"))
        rows[fiche.id] = landing.rows.num_rows if landing.rows is not None else 0
    return rows


def test_a_bdtopo3_shapefile_delivery_gets_fiches_that_land(tmp_path):
    delivery, project = tmp_path / "D017", tmp_path / "project"
    bdtopo3_shp(delivery, "2023-03-15")
    bdtopo3_shp(delivery, "2024-03-15")
    report = add_territory(delivery, project)
    assert set(report.fiches.values()) == {"written"} and len(report.fiches) == 6
    assert report.territory == "D017" and report.tiles == ["0380_6550"]
    assert territory_tiles(delivery) == report.tiles
    assert yaml.safe_load((project / "jnft.yaml").read_text())["sources"] == str(delivery)
    batiment = load_fiche(project / "concepts" / "batiment.yaml")
    assert batiment.source.pattern == (
        "BDTOPO_3-3_TOUSTHEMES_SHP_LAMB93_D017_*/BDTOPO/1_DONNEES_LIVRAISON_*/"
        "BDT_3-3_SHP_LAMB93_D017-ED*/BATI/BATIMENT.shp"
    )
    assert batiment.roles == {
        "buildings": {"dwellings": "nombre_de_logements", "height": "hauteur"}
    }
    assert batiment.criteria.c06_extent.bbox == (380000, 6540000, 390000, 6550000)
    rows = landed_rows(delivery, project, tmp_path)
    assert all(n > 0 for n in rows.values()), rows
    print("\n".join(report.lines()))


def test_a_second_run_changes_nothing_and_keeps_edited_fiches(tmp_path):
    delivery, project = tmp_path / "D017", tmp_path / "project"
    bdtopo3_shp(delivery, "2024-03-15")
    add_territory(delivery, project)
    again = add_territory(delivery, project)
    assert set(again.fiches.values()) == {"unchanged"}
    edited = project / "concepts" / "commune.yaml"
    edited.write_text(edited.read_text().replace("title: Communes", "title: Mes communes"))
    kept = add_territory(delivery, project)
    assert kept.fiches["commune"] == "kept" and "Mes communes" in edited.read_text()
    assert any("--force" in line for line in kept.lines())
    assert add_territory(delivery, project, force=True).fiches["commune"] == "overwritten"
    assert "Mes communes" not in edited.read_text()


def test_a_zipped_bdtopo2_delivery_with_terrain_and_lidar_lands(tmp_path):
    delivery, project = tmp_path / "D038", tmp_path / "project"
    bdtopo2_shp(delivery / "raw", "2017-06-15")

    shutil.make_archive(str(delivery / "BDTOPO_2-2_D038"), "zip", delivery / "raw")
    shutil.rmtree(delivery / "raw")
    folder = delivery / "RGEALTI_2-0_5M_ASC_LAMB93-IGN69_D038_2021-06-15"
    asc_tile(folder / "RGEALTI_FXX_0388_6546_MNT_LAMB93_IGN69.asc", 388_000, 6_546_000)
    asc_tile(folder / "RGEALTI_FXX_0390_6546_MNT_LAMB93_IGN69.asc", 390_000, 6_546_000)
    laz_tile(
        delivery
        / "LIDARHD_1-0_LAZ_D038_2024-06-30"
        / "LHD_FXX_0389_6546_PTS_C_LAMB93_IGN69.copc.laz",
        389_000,
        6_545_000,
    )
    report = add_territory(delivery, project)
    assert report.roles == {
        "buildings": "bati_indifferencie",
        "terrain": "mnt_rge_alti_5m",
        "watercourses": "troncon_cours_eau",
    }
    assert load_fiche(project / "concepts" / "mnt_rge_alti_5m.yaml").spec.resolution == 5.0
    rows = landed_rows(delivery, project, tmp_path)
    assert set(rows) == {
        "bati_indifferencie",
        "bati_industriel",
        "bati_remarquable",
        "troncon_cours_eau",
        "mnt_rge_alti_5m",
        "nuage_lidar_hd",
    }
    assert all(n > 0 for n in rows.values()), rows


def test_the_real_samples_are_recognized_and_land(shared_data, tmp_path):
    delivery, project = tmp_path / "reel", tmp_path / "project"
    links = {  # real file -> where a delivery of its product would hold it
        "dem/geoxygene__bdalti_echantillon38_ISERE_100.asc": (
            "BDALTIV2_2-0_100M_ASC_LAMB93-IGN69_D038_2020-01-01/"
            "BDALTIV2_100M_FXX_0914_6460_MNT_LAMB93_IGN69.asc"
        ),
        "lidar/las-digital-models__test_semis_2023_0299_6802_LA93_IGN69.laz": (
            "LIDARHD_2023-06-01/LHD_FXX_0299_6802_PTS_C_LAMB93_IGN69.laz"
        ),
        "vector/france-geojson__communes-17-charente-maritime.geojson": (
            "ADMIN-EXPRESS-GEOJSON_2018-01-01/communes-17-charente-maritime.geojson"
        ),
        "population/decoupage-administratif__donnees_communes.csv": (
            "populations-legales_2024-01-01/donnees_communes.csv"
        ),
    }
    for source, target in links.items():
        (delivery / target).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(shared_data / source, delivery / target)
    report = add_territory(delivery, project)
    assert sorted(report.fiches) == [
        "commune",
        "mnt_bd_alti_100m",
        "nuage_lidar_hd",
        "population_communale",
    ]
    assert report.recognition.unrecognized == []
    assert report.territory == "D017-D038"
    rows = landed_rows(delivery, project, tmp_path)
    assert all(n > 0 for n in rows.values()), rows


@pytest.mark.parametrize("name", ["territory.yaml"])
def test_the_territory_file_quotes_its_tiles(tmp_path, name):
    delivery, project = tmp_path / "D017", tmp_path / "project"
    bdtopo3_shp(delivery, "2024-03-15")
    add_territory(delivery, project)
    assert "- '0380_6550'" in (delivery / name).read_text()


def test_the_sample_territory_gpkg_delivery_lands(small_sources, tmp_path):
    delivery, project = tmp_path / "sample", tmp_path / "project"
    shutil.copytree(small_sources / "bdtopo", delivery / "bdtopo")
    report = add_territory(delivery, project)
    assert sorted(report.fiches) == [
        "batiment",
        "troncon_de_route",
        "troncon_hydrographique",
        "zone_d_activite_ou_d_interet",
    ]
    rows = landed_rows(delivery, project, tmp_path)
    assert all(n > 0 for n in rows.values()), rows
