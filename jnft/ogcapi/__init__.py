"""OGC APIs over the lakehouse (pygeoapi): Features for the public vector concepts and the
series' stations, current or as of a date; EDR for the series' observations; Coverages for the
raster concepts and the flood scenarios' depth maps; Records for the STAC catalog; Processes for
flood scenarios. `ogc_app(settings, url)` is the ASGI app to serve or mount."""

from jnft.ogcapi.app import ogc_app, pygeoapi_config

__all__ = ["ogc_app", "pygeoapi_config"]
