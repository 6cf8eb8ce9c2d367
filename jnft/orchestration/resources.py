"""Resources: the lakehouse (root folder) and where source deliveries are found."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from jnft.lakehouse.store import DEFAULT_ROOT, Lakehouse

DEFAULT_SOURCES = "./.jnft/sources"


class LakehouseResource(dg.ConfigurableResource):
    """The lakehouse root (`JNFT_LAKEHOUSE`) and the sources folder (`JNFT_SOURCES`)."""

    root: str
    sources: str

    @classmethod
    def from_env(cls) -> LakehouseResource:
        return cls(
            root=str(Path(os.environ.get("JNFT_LAKEHOUSE", DEFAULT_ROOT)).resolve()),
            sources=str(Path(os.environ.get("JNFT_SOURCES", DEFAULT_SOURCES)).resolve()),
        )

    def store(self) -> Lakehouse:
        return Lakehouse.at(self.root)

    @property
    def sources_dir(self) -> Path:
        return Path(self.sources)
