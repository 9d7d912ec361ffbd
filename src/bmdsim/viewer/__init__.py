"""A run on a globe.

- `bmdsim.viewer.export`: a run as CZML (CesiumJS) and KML (Google Earth): ``run_czml``,
  ``run_kml``, and ``export.export`` behind ``bmdsim export``.
- `bmdsim.viewer.server`: ``bmdsim serve``, the FastAPI app with the offline Cesium globe.

``run_czml`` and ``run_kml`` are importable from here too; they load on first use, so importing
the package (or the server) does not import numpy and the physics.
"""

__all__ = ["run_czml", "run_kml"]


def __getattr__(name: str):
    if name in __all__:
        import importlib

        return getattr(importlib.import_module("bmdsim.viewer.export"), name)
    raise AttributeError(f"module 'bmdsim.viewer' has no attribute {name!r}")
