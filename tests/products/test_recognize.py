import zipfile

from jnft.products.recognize import recognize
from jnft.products.scan import EXTRACTED
from jnft.products.templates import load_catalog
from tests.products.deliveries import asc_tile, bdtopo2_shp, bdtopo3_shp


def test_the_catalog_loads_with_one_owner_per_source():
    products = {t.product for t in load_catalog()}
    assert {
        "bdtopo3_shp",
        "bdtopo3_gpkg",
        "bdtopo2_shp",
        "rge_alti",
        "bd_alti",
        "lidar_hd",
    } <= products
    assert {
        "admin_express_shp",
        "admin_express_gpkg",
        "insee_populations",
        "filosofi_200m",
    } <= products


def test_bdtopo3_shapefiles_of_two_vintages_make_one_concept_per_layer(tmp_path):
    bdtopo3_shp(tmp_path, "2023-03-15")
    bdtopo3_shp(tmp_path, "2024-03-15")
    result = recognize(tmp_path)
    assert [c.id for c in result.concepts] == [
        "batiment",
        "commune",
        "surface_hydrographique",
        "troncon_de_route",
        "troncon_hydrographique",
        "zone_d_activite_ou_d_interet",
    ]
    assert all(c.vintages == ["2023-03-15", "2024-03-15"] for c in result.concepts)
    assert len(result.sidecars) == 2 * 6 * 4  # .dbf .shx .prj .cpg
    assert len(result.documentation) == 4  # .md5 and .xml of each vintage
    assert result.unrecognized == [] and result.territory_codes == ["D017"]


def test_unknown_files_are_listed_with_a_reason(tmp_path):
    asc_tile(
        tmp_path
        / "RGEALTI_2-0_5M_ASC_LAMB93-IGN69_D038_2021-06-15"
        / "RGEALTI_FXX_0388_6546_MNT_LAMB93_IGN69.asc",
        388_000,
        6_546_000,
    )
    asc_tile(
        tmp_path / "MNT_sans_date" / "RGEALTI_FXX_0390_6546_MNT_LAMB93_IGN69.asc",
        390_000,
        6_546_000,
    )
    (tmp_path / "carte.tif").write_bytes(b"II*\x00")
    (tmp_path / "data.bin").write_bytes(b"\x00")
    (tmp_path / "archive.7z").write_bytes(b"7z\xbc\xaf")
    result = recognize(tmp_path)
    assert [c.id for c in result.concepts] == ["mnt_rge_alti_5m"]
    reasons = {u.relative: u.reason for u in result.unrecognized}
    assert "no vintage date" in reasons["MNT_sans_date/RGEALTI_FXX_0390_6546_MNT_LAMB93_IGN69.asc"]
    assert "no catalog product" in reasons["carte.tif"]
    assert reasons["data.bin"] == "unknown file type .bin"
    assert reasons["archive.7z"] == "7z archive: extract it first (7z x archive.7z)"
    assert result.concepts[0].guesses == ["SCR EPSG:2154 déduit du nom du fichier (LAMB93)"]


def test_zip_archives_are_unpacked_and_recognized(tmp_path):
    source = bdtopo2_shp(tmp_path / "raw", "2017-06-15")
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    with zipfile.ZipFile(delivery / f"{source.name}.zip", "w") as archive:
        for path in source.rglob("*"):
            archive.write(path, path.relative_to(source.parent).as_posix())
    result = recognize(delivery)
    assert [c.id for c in result.concepts] == [
        "bati_indifferencie",
        "bati_industriel",
        "bati_remarquable",
        "troncon_cours_eau",
    ]
    assert result.archives == [f"{source.name}.zip"]
    assert all(f.startswith(EXTRACTED) for c in result.concepts for f in c.files)
    assert result.unrecognized == []
