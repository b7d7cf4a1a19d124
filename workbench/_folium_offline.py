"""Any ``folium.Map`` made where the workbench is imported works offline.

folium links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs and draws OpenStreetMap
tiles, so in a room without internet a plain ``folium.Map()`` or ``GeoDataFrame.explore()``
is a blank rectangle. :func:`install` (run by ``import workbench``) patches folium as soon as
it is imported:

* ``folium.Map.default_js`` / ``default_css`` become the Leaflet 1.9.4 vendored under
  ``workbench/static/leaflet``, inlined as ``data:`` URIs (the CSS's images too, and the
  default marker icon), and the CDN-only extras (jQuery, Bootstrap, Font Awesome,
  awesome-markers) are dropped;
* named tile providers (folium's default ``"OpenStreetMap"``, ``"CartoDB positron"``, an
  ``xyzservices`` provider) are replaced by the tiles in ``WORKBENCH_TILES`` (with
  ``WORKBENCH_TILES_ATTRIBUTION``) when set, else by no tiles, and so is a URL template of
  one of those providers' hosts; any other URL template passed explicitly
  (``"http://tiles.local/{z}/{x}/{y}.png"``) is kept.

``workbench.maps`` builds its maps the same way (ADR 0050); this makes folium's own API
and GeoPandas' ``explore()`` follow suit (ADR 0150).
"""

from __future__ import annotations

import base64
import functools
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlparse

LEAFLET_DIR = Path(__file__).parent / "static" / "leaflet"


def _data_uri(mime: str, raw: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode("ascii")


def _image(name: str) -> str:
    return _data_uri("image/png", (LEAFLET_DIR / "images" / name).read_bytes())


@functools.cache
def local_js() -> tuple[tuple[str, str], ...]:
    """folium ``default_js`` entries: the vendored Leaflet and its default icon, inlined."""
    icons = (
        "L.Icon.Default.imagePath = '';"
        "L.Icon.Default.mergeOptions({"
        f"iconUrl: '{_image('marker-icon.png')}',"
        f"iconRetinaUrl: '{_image('marker-icon-2x.png')}',"
        f"shadowUrl: '{_image('marker-shadow.png')}'"
        "});"
    )
    return (
        ("leaflet", _data_uri("text/javascript", (LEAFLET_DIR / "leaflet.js").read_bytes())),
        ("workbench_leaflet_icons", _data_uri("text/javascript", icons.encode())),
    )


@functools.cache
def local_css() -> tuple[tuple[str, str], ...]:
    """folium ``default_css`` entries: the vendored Leaflet CSS with its images inlined."""
    css = (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"url\(images/([\w.-]+\.png)\)", lambda m: f"url({_image(m[1])})", css)
    return (("leaflet_css", _data_uri("text/css", css.encode())),)


@functools.cache
def _public_tile_hosts() -> frozenset[str]:
    """Hosts of the internet tile providers folium and GeoPandas know (xyzservices)."""
    import xyzservices

    hosts = set()
    for provider in xyzservices.providers.flatten().values():
        host = urlparse(str(provider.get("url", "")).replace("{s}", "a")).hostname
        if host:
            hosts.add(host)
    return frozenset(hosts)


def _offline_tiles(tiles: Any, attr: Any) -> tuple[Any, Any]:
    """The tiles (and attribution) a map gets offline for folium's ``tiles``/``attr``."""
    if tiles is None or not isinstance(tiles, str):
        return tiles, attr  # no tiles, or a TileLayer object
    if "{z}" in tiles:
        host = urlparse(tiles.replace("{s}", "a")).hostname
        if host not in _public_tile_hosts():
            return tiles, attr  # an explicit URL template of the user's own server
    configured = os.environ.get("WORKBENCH_TILES")
    if not configured:
        return None, None
    attribution = os.environ.get("WORKBENCH_TILES_ATTRIBUTION") or re.sub(
        r"^\w+://([^/]+).*$", r"\1", configured
    )
    return configured, attribution


def patch(folium: ModuleType) -> None:
    """Make ``folium.Map`` load the vendored Leaflet and skip remote tile providers."""
    Map = folium.Map
    if getattr(Map, "_workbench_offline", False):
        return
    Map.default_js = list(local_js())  # copies: folium appends to these lists
    Map.default_css = list(local_css())
    original = Map.__init__
    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind_partial(self, *args, **kwargs)
        tiles = bound.arguments.get("tiles", signature.parameters["tiles"].default)
        if tiles is not None and not isinstance(tiles, str) and hasattr(tiles, "build_url"):
            tiles = "xyzservices"  # a TileProvider: a remote server too
        tiles, attr = _offline_tiles(tiles, bound.arguments.get("attr"))
        bound.arguments["tiles"] = tiles
        bound.arguments["attr"] = attr
        original(*bound.args, **bound.kwargs)

    Map.__init__ = __init__
    Map._workbench_offline = True


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        patch(module)


class _PatchFoliumOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "folium":
            return None
        sys.meta_path.remove(self)  # once, and not for the look-up below
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader)
        return spec


def install() -> None:
    """Patch folium now if it is imported, else as soon as it is (idempotent)."""
    if "folium" in sys.modules:
        patch(sys.modules["folium"])
    elif not any(isinstance(f, _PatchFoliumOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchFoliumOnImport())
