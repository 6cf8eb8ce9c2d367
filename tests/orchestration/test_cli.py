import duckdb

from jnft.orchestration.cli import main


def test_sql_prints_a_query_result(tmp_path, capsys):
    path = tmp_path / "lakehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE VIEW batiment AS SELECT 42 AS n")
    assert main(["sql", "SELECT n FROM batiment", "--database", str(path)]) == 0
    assert "42" in capsys.readouterr().out
    assert main(["sql", "SELECT n * 2 AS d FROM batiment", "--database", str(path), "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "84"


def test_missing_lakehouse_is_a_clear_error(tmp_path, capsys):
    assert main(["sql", "SELECT 1", "--database", str(tmp_path / "none.duckdb")]) == 2
    assert "make demo" in capsys.readouterr().err


def test_sample_writes_a_territory(tmp_path, capsys):
    assert main(["sample", "--small", "--out", str(tmp_path / "src")]) == 0
    assert (tmp_path / "src" / "territory.yaml").exists()
    assert "0380_6550" in capsys.readouterr().out
