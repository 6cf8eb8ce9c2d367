"""Resources: the lakehouse (root folder) and where source deliveries are found."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from jnft.lakehouse.store import Lakehouse
from jnft.settings import DEFAULTS, Settings, load_settings


class LakehouseResource(dg.ConfigurableResource):
    """The lakehouse root (`JNFT_LAKEHOUSE`: a folder, or `url` on object storage with `root`
    its working copy), the sources folder (`JNFT_SOURCES`) and the inbox where new deliveries
    are dropped (`JNFT_INBOX`)."""

    root: str
    sources: str
    inbox: str = DEFAULTS["inbox"]
    url: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> LakehouseResource:
        settings = settings or load_settings()
        return cls(
            root=str(settings.lakehouse),
            sources=str(settings.sources),
            inbox=str(settings.inbox),
            url=settings.lakehouse_url,
        )

    @property
    def inbox_dir(self) -> Path:
        return Path(self.inbox)

    def store(self) -> Lakehouse:
        return Lakehouse.at(self.root, self.url)

    @property
    def sources_dir(self) -> Path:
        return Path(self.sources)
