import numpy as np
import pyarrow as pa
import pyogrio
import pytest
import shapely

from jnft.formats.errors import SourceFileError
from jnft.formats.vector import open_vector, read_vector


def _gpkg(path, n: int):
    table = pa.table(
        {
            "code": pa.array([f"C{i}" for i in range(n)]),
            "geometry": pa.array(
                shapely.to_wkb(shapely.points(np.arange(n) + 390_000.0, 6_545_000.0)), pa.binary()
            ),
        }
    )
    pyogrio.write_arrow(
        table, path, driver="GPKG", geometry_name="geometry", geometry_type="Point", crs="EPSG:2154"
    )
    return path


def test_a_file_is_streamed_in_batches_with_its_crs(tmp_path):
    path = _gpkg(tmp_path / "p.gpkg", 10)
    with open_vector(
        path, "GPKG", layer=None, columns=["code"], fallback_crs="EPSG:4326", batch_size=4
    ) as stream:
        sizes = [t.num_rows for t in stream.batches]
        assert stream.crs.to_epsg() == 2154  # the file's CRS wins
        assert stream.schema.names == ["code", "geometry"]
    assert sizes == [4, 4, 2]
    whole = read_vector(path, "GPKG", layer=None, columns=["code"], fallback_crs=None)
    assert whole.table["code"].to_pylist() == [f"C{i}" for i in range(10)]


def test_an_unreadable_file_is_a_source_error(tmp_path):
    path = tmp_path / "broken.gpkg"
    path.write_bytes(b"not a geopackage")
    with (
        pytest.raises(SourceFileError, match="not a readable GPKG"),
        open_vector(path, "GPKG", layer=None, columns=["code"], fallback_crs=None),
    ):
        pass


def test_the_insee_grid_is_cut_into_batches(tmp_path):
    path = tmp_path / "carreaux.csv"
    cells = [f"CRS3035RES200mN2238200E{3498400 + 200 * i}" for i in range(5)]
    path.write_text("Idcar_200m,Ind\n" + "".join(f"{c},1\n" for c in cells), encoding="utf-8")
    with open_vector(
        path, "INSEE-GRID-CSV", layer=None, columns=["Idcar_200m"], fallback_crs=None, batch_size=2
    ) as stream:
        assert [t.num_rows for t in stream.batches] == [2, 2, 1]
        assert stream.crs.to_epsg() == 3035
