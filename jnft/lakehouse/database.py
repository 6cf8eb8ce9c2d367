"""The DuckDB side of the lakehouse: offline extensions from PyPI, and `lakehouse.duckdb` built
from the plain SQL files of `sql/` over the Delta tables."""

from __future__ import annotations

import importlib.metadata
import os
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import duckdb_extensions

from jnft.lakehouse.remote import duckdb_secret

# httpfs: the views of a lakehouse on object storage read `s3://`.
EXTENSIONS = ("spatial", "delta", "httpfs")


class ExtensionVersionError(RuntimeError):
    """The installed extension packages were built for another DuckDB version."""


def _check_versions() -> None:
    for name in EXTENSIONS:
        package = f"duckdb-extension-{name}"
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError as error:
            raise ExtensionVersionError(f"{package} is not installed") from error
        if version != duckdb.__version__:
            raise ExtensionVersionError(
                f"{package} {version} does not match duckdb {duckdb.__version__}: "
                "pin both to the same version"
            )


def load_extensions(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Install (from the PyPI packages, never the network) and load spatial, delta and httpfs,
    with the object store's credentials when the environment has them."""
    _check_versions()
    con.execute("SET autoinstall_known_extensions = false")
    for name in EXTENSIONS:
        duckdb_extensions.import_extension(name, con=con)
        con.execute(f"LOAD {name}")
    duckdb_secret(con)
    return con


def connect(path: Path | None = None, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A connection with spatial and delta loaded; query connections are read-only."""
    if path is None:
        return load_extensions(duckdb.connect())
    if read_only and not Path(path).exists():
        raise FileNotFoundError(
            f"{path} does not exist: materialize the lakehouse first "
            "(jnft run; make demo for the sample)"
        )
    return load_extensions(duckdb.connect(str(path), read_only=read_only))


@dataclass(frozen=True)
class ViewTemplate:
    """A SQL template from `sql/` applied once per concept of a kind (`-- applies-to: kind`)."""

    path: Path
    applies_to: str | None  # None: applied once, with only the lakehouse-wide placeholders

    @classmethod
    def read(cls, path: Path) -> ViewTemplate:
        first = path.read_text(encoding="utf-8").splitlines()[:1]
        prefix = "-- applies-to:"
        applies = first[0][len(prefix) :].strip() if first and first[0].startswith(prefix) else None
        return cls(path, applies)


def sql_files(*folders: Path) -> list[Path]:
    """The `*.sql` files of the folders by name, a later folder's file overriding an earlier
    one of the same name (a project's `sql/` over jnft's), in name order."""
    files = {path.name: path for folder in folders for path in Path(folder).glob("*.sql")}
    return [files[name] for name in sorted(files)]


def render_sql(
    sql_dirs: Path | Sequence[Path],
    substitutions: Iterable[dict[str, str]],
    common: dict[str, str],
) -> list[str]:
    """Statements of every `sql/*.sql` file in name order (later folders override earlier
    ones by file name), templates expanded per concept."""
    per_kind: dict[str, list[dict[str, str]]] = {}
    for subs in substitutions:
        per_kind.setdefault(subs["kind"], []).append(subs)
    scripts = []
    folders = [sql_dirs] if isinstance(sql_dirs, Path) else list(sql_dirs)
    for path in sql_files(*folders):
        template = ViewTemplate.read(path)
        text = string.Template(path.read_text(encoding="utf-8"))
        if template.applies_to is None:
            scripts.append(text.substitute(common))
        else:
            scripts.extend(
                text.substitute({**common, **subs})
                for subs in per_kind.get(template.applies_to, [])
            )
    return scripts


def build_database(target: Path, scripts: list[str]) -> Path:
    """Rebuild the DuckDB file from scratch and swap it in atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    for leftover in (partial, partial.with_name(partial.name + ".wal")):
        if leftover.exists():
            leftover.unlink()
    con = load_extensions(duckdb.connect(str(partial)))
    try:
        for script in scripts:
            con.execute(script)
    finally:
        con.close()
    os.replace(partial, target)
    return target
