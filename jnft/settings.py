"""One settings object: where the project's declarations are (fiches, scenarios, SQL) and where
its data lives (lakehouse, sources, inbox, Dagster instance).

The project is `JNFT_PROJECT_DIR` (set by `jnft --project DIR`), else the nearest folder
holding a `jnft.yaml` from the working directory up, else this checkout (the sample project).
Read from the project's `jnft.yaml` (paths relative to the project), then from the environment
(`JNFT_LAKEHOUSE`, `JNFT_SOURCES`, `JNFT_INBOX`, `DAGSTER_HOME`; relative paths from the working
directory), which wins. Read at call time, so that a changed environment is seen.

The lakehouse may be a bucket prefix (`s3://bucket/prefix`): files are then written and read
through a local working copy below `lakehouse_cache` (`JNFT_LAKEHOUSE_CACHE`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from jnft.lakehouse.remote import RemoteError, check_url

# The checkout's own folder: the sample project, used when no other project is named.
DEFAULT_PROJECT = Path(__file__).resolve().parents[1]
PROJECT_FILE = "jnft.yaml"
DEFAULTS = {
    "lakehouse": "./.jnft/lakehouse",
    "sources": "./.jnft/sources",
    "inbox": "./.jnft/inbox",
    "dagster_home": "./.jnft/dagster_home",
    "lakehouse_cache": "./.jnft/cache",
}
ENVIRONMENT = {
    "lakehouse": "JNFT_LAKEHOUSE",
    "sources": "JNFT_SOURCES",
    "inbox": "JNFT_INBOX",
    "dagster_home": "DAGSTER_HOME",
    "lakehouse_cache": "JNFT_LAKEHOUSE_CACHE",
}


class SettingsError(ValueError):
    """A `jnft.yaml` that cannot be used, with the file and the key at fault."""


@dataclass(frozen=True)
class Settings:
    project: Path
    lakehouse: Path
    sources: Path
    inbox: Path
    dagster_home: Path
    # The sample territory's project: its sources are generated when missing.
    sample: bool = False
    # A lakehouse on object storage (`lakehouse` is then its local working copy).
    lakehouse_url: str | None = None

    @property
    def concepts(self) -> Path:
        return self.project / "concepts"

    @property
    def scenarios(self) -> Path:
        return self.project / "scenarios"

    @property
    def sql(self) -> Path:
        return self.project / "sql"

    @property
    def sql_folders(self) -> list[Path]:
        """jnft's SQL, then the project's `sql/` files overriding them by name."""
        return list(dict.fromkeys([DEFAULT_PROJECT / "sql", self.sql]))

    @property
    def workspace(self) -> Path:
        return self.project / "workspace.yaml"


def _project_file(project: Path) -> tuple[dict[str, str], bool]:
    """(paths, sample) of the project's `jnft.yaml`: paths resolved from the project."""
    path = project / PROJECT_FILE
    if not path.exists():
        return {}, False
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise SettingsError(f"{path}: not valid YAML: {error}") from error
    known = [*DEFAULTS, "sample"]
    unknown = sorted(set(data) - set(known)) if isinstance(data, dict) else ["(not a mapping)"]
    if unknown:
        raise SettingsError(f"{path}: unknown keys {unknown}; known: {', '.join(known)}")
    sample = data.pop("sample", False)
    if not isinstance(sample, bool):
        raise SettingsError(f"{path}: sample: true or false, not {sample!r}")
    bad = sorted(k for k, v in data.items() if not isinstance(v, str))
    if bad:
        raise SettingsError(f"{path}: {', '.join(bad)}: a path (quoted if need be), not a value")
    return {k: v if "://" in v else str(project / v) for k, v in data.items()}, sample


def find_project(start: Path) -> Path:
    """The nearest folder holding a `jnft.yaml`, from `start` up; else this checkout."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return DEFAULT_PROJECT


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings in force: defaults, then the project's `jnft.yaml`, then the environment."""
    named = environ.get("JNFT_PROJECT_DIR")
    project = Path(named).resolve() if named else find_project(Path.cwd())
    paths, sample = _project_file(project)
    values = {**DEFAULTS, **paths}
    values.update({k: environ[v] for k, v in ENVIRONMENT.items() if environ.get(v)})
    remote = {k: v for k, v in values.items() if "://" in v and k != "lakehouse"}
    if remote:
        # A URL read as a path would silently become a local folder named `s3:`.
        raise SettingsError(
            f"{', '.join(f'{k}: {v}' for k, v in remote.items())}: only the lakehouse may be on "
            "object storage (s3://bucket/prefix); the others are local folders"
        )
    url = values.pop("lakehouse") if "://" in values["lakehouse"] else None
    cache = values.pop("lakehouse_cache")
    if url is not None:
        try:
            url = check_url(url)
        except RemoteError as error:
            raise SettingsError(str(error)) from None
        values["lakehouse"] = str(Path(cache) / url.split("://", 1)[1])
    return Settings(
        project=project,
        **{k: Path(v).resolve() for k, v in values.items()},
        sample=sample or project == DEFAULT_PROJECT,
        lakehouse_url=url,
    )
