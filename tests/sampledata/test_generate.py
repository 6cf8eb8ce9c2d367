import numpy as np
import pyogrio
import pytest
import rasterio
import yaml

from jnft.sampledata.generate import generate
from jnft.sampledata.territory import SMALL


def test_sources_are_in_the_real_formats(small_sources):
    manifest = yaml.safe_load((small_sources / "territory.yaml").read_text(encoding="utf-8"))
    assert manifest["tiles"] == ["0380_6550", "0390_6550"]
    gpkgs = sorted(small_sources.glob("bdtopo/*/*.gpkg"))
    assert [p.name[-15:-5] for p in gpkgs] == ["2023-03-15", "2025-03-15"]
    layers = {name for name, _ in pyogrio.list_layers(gpkgs[0])}
    assert layers == {
        "batiment",
        "troncon_hydrographique",
        "troncon_de_route",
        "zone_d_activite_ou_d_interet",
    }
    info = pyogrio.read_info(gpkgs[0], layer="batiment")
    assert info["geometry_type"] == "MultiPolygon Z" and info["crs"] == "EPSG:2154"
    assert {"cleabs", "usage_1", "hauteur", "nombre_de_logements"} <= set(info["fields"])
    shp = next(small_sources.glob("admin_express/*/COMMUNE.shp"))
    assert shp.with_suffix(".cpg").exists() and shp.with_suffix(".prj").exists()
    asc = sorted(small_sources.glob("rge_alti/*/*.asc"))
    with rasterio.open(asc[0]) as src:
        assert src.crs is None and src.res == (5.0, 5.0)  # RGE ALTI ships no CRS
        assert (src.transform.c + 2.5) % 5 == 0  # cell centres on multiples of 5 m
    header = next(small_sources.glob("filosofi/*/*.csv")).read_text().splitlines()[1]
    assert header.strip('"').startswith("CRS3035RES200mN")


def test_the_second_vintage_differs_from_the_first(small_sources):
    first, second = sorted(small_sources.glob("bdtopo/*/*.gpkg"))
    a = pyogrio.read_dataframe(first, layer="batiment", read_geometry=False)
    b = pyogrio.read_dataframe(second, layer="batiment", read_geometry=False)
    removed = set(a.cleabs) - set(b.cleabs)
    added = set(b.cleabs) - set(a.cleabs)
    common = a.merge(b, on="cleabs", suffixes=("_a", "_b"))
    changed = (common.hauteur_a != common.hauteur_b) | (common.usage_1_a != common.usage_1_b)
    assert removed and added and changed.any()


def test_relief_has_sea_valley_and_plateau(small_sources):
    with rasterio.open(sorted(small_sources.glob("rge_alti/*/*.asc"))[0]) as src:
        z = src.read(1, masked=True)
    assert z.min() < 0 < z.max()  # sea floor below 0 m, land above
    assert np.ptp(z) > 10


def test_generation_is_deterministic(tmp_path):
    generate(tmp_path / "a", SMALL)
    generate(tmp_path / "b", SMALL)
    for path in (tmp_path / "a").rglob("*"):
        if path.is_file() and path.suffix in (".asc", ".csv", ".laz", ".json", ".txt"):
            assert (
                path.read_bytes()
                == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()
            ), path


@pytest.mark.parametrize("quantity", ["H", "Q"])
def test_hubeau_series_use_hubeau_units(small_sources, quantity):
    import json

    path = next(small_sources.glob(f"hubeau/observations_tr_*_{quantity}_*.json"))
    data = json.loads(path.read_text())["data"]
    values = [d["resultat_obs"] for d in data]
    assert data[0]["grandeur_hydro"] == quantity
    assert min(values) > (300 if quantity == "H" else 5000)  # mm and l/s, not m and m³/s
