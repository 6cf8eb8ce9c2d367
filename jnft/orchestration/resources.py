"""Resources: the lakehouse (root folder) and where source deliveries are found."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from jnft.lakehouse.store import DEFAULT_ROOT, Lakehouse

DEFAULT_SOURCES = "./.jnft/sources"
DEFAULT_INBOX = "./.jnft/inbox"


class LakehouseResource(dg.ConfigurableResource):
    """The lakehouse root (`JNFT_LAKEHOUSE`), the sources folder (`JNFT_SOURCES`) and the
    inbox where new deliveries are dropped (`JNFT_INBOX`)."""

    root: str
    sources: str
    inbox: str = DEFAULT_INBOX

    @classmethod
    def from_env(cls) -> LakehouseResource:
        return cls(
            root=str(Path(os.environ.get("JNFT_LAKEHOUSE", DEFAULT_ROOT)).resolve()),
            sources=str(Path(os.environ.get("JNFT_SOURCES", DEFAULT_SOURCES)).resolve()),
            inbox=str(Path(os.environ.get("JNFT_INBOX", DEFAULT_INBOX)).resolve()),
        )

    @property
    def inbox_dir(self) -> Path:
        return Path(self.inbox)

    def store(self) -> Lakehouse:
        return Lakehouse.at(self.root)

    @property
    def sources_dir(self) -> Path:
        return Path(self.sources)
