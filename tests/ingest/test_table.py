import polars as pl
import pytest

from jnft.formats.errors import SourceFileError
from jnft.formats.table import read_table
from jnft.ingest.table import TABLE_TILE, prepare_table

COLUMNS = {"COM": "string", "Commune": "string", "PMUN": "int64"}


def test_codes_stay_text_and_bad_values_are_quarantined(tmp_path):
    path = tmp_path / "donnees_communes.csv"
    path.write_text(
        "COM;Commune;PMUN;PTOT\n01001;L'Abergement;832;848\n2A004;Ajaccio;71361;72550\n"
        "17300;La Rochelle;beaucoup;0\n17300;La Rochelle bis;1;1\n;Sans code;5;5\n"
    )
    frame = read_table(path, list(COLUMNS), ";", None)
    out = prepare_table(
        frame, COLUMNS, {"COM": "insee_com"}, "COM", source_name="d.csv", source_sha256="s"
    )
    assert out.rows["feature_id"].to_pylist() == ["01001", "2A004"]
    assert out.rows["PMUN"].to_pylist() == [832, 71361]
    assert set(out.rows["tile"].to_pylist()) == {TABLE_TILE}
    reasons = sorted(out.quarantine["reason"].to_pylist())
    assert reasons == [
        "PMUN: not a int64",
        "duplicate COM in the source",
        "missing identifier",
    ]


def test_an_undeclared_encoding_is_named(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("COM;Commune;PMUN\n17300;Île-d'Aix;250\n".encode("cp1252"))
    with pytest.raises(SourceFileError, match=r"not UTF-8 text.*source\.encoding"):
        read_table(path, list(COLUMNS), ";", None)
    assert read_table(path, list(COLUMNS), ";", "cp1252")["Commune"][0] == "Île-d'Aix"


def test_a_missing_column_is_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("COM;PMUN\n01001;3\n")
    with pytest.raises(SourceFileError, match=r"columns \['Commune'\] not found"):
        read_table(path, list(COLUMNS), ";", None)
    assert isinstance(read_table(path, ["COM"], ";", None), pl.DataFrame)
