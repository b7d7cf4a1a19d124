"""folium maps and ``GeoDataFrame.explore()`` draw offline in a workbench session.

Each map is saved to an HTML file, served by a real HTTP server on localhost and opened in
real Chromium with every request to anywhere but localhost blocked and recorded: Leaflet
must load (``window.L``), the geometries must be drawn (SVG paths) and nothing may be asked
of the internet.
"""

from __future__ import annotations

import functools
import http.server
import threading
from urllib.parse import urlparse

import geopandas as gpd
import pytest
import shapely

import workbench  # noqa: F401  (installs the offline folium patch, as in a workbench kernel)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A static HTTP server on a free localhost port serving a temporary directory."""
    root = tmp_path_factory.mktemp("maps")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _open_offline(browser, url: str) -> tuple[dict, list[str]]:
    external: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    context = browser.new_context()
    try:
        context.route("**/*", route)
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_timeout(300)
        found = page.evaluate(
            """() => {
                const d = document.querySelector('iframe') ?
                    document.querySelector('iframe').contentDocument : document;
                const w = document.querySelector('iframe') ?
                    document.querySelector('iframe').contentWindow : window;
                return {
                    leaflet: typeof w.L !== 'undefined' && w.L.version,
                    paths: d.querySelectorAll('path.leaflet-interactive').length,
                    markers: d.querySelectorAll('img.leaflet-marker-icon').length,
                    tiles: d.querySelectorAll('img.leaflet-tile').length,
                };
            }"""
        )
    finally:
        context.close()
    return found, external


def _wards() -> gpd.GeoDataFrame:
    polygons = [shapely.box(141.30 + i / 50, 43.03, 141.32 + i / 50, 43.05) for i in range(3)]
    return gpd.GeoDataFrame(
        {"areaCode": ["01101", "01102", "01103"], "population": [1000, 2000, 3000]},
        geometry=polygons,
        crs="EPSG:4326",
    )


def test_geodataframe_explore_draws_offline(browser, site):
    root, base = site
    m = _wards().explore()
    m.save(root / "explore.html")
    found, external = _open_offline(browser, base + "/explore.html")
    assert external == []
    assert found["leaflet"] == "1.9.4"
    assert found["paths"] == 3
    assert found["tiles"] == 0  # no tile server offline: a blank background, not broken images


def test_explore_with_a_column_classifies_without_asking_to_pip_install():
    # scheme= goes through mapclassify, the dependency explore() asked users to pip install
    m = _wards().explore(column="population", scheme="quantiles", k=3, legend=False)
    assert "leaflet" in m.get_root().render()


def test_plain_folium_map_with_markers_and_shapes_draws_offline(browser, site):
    import folium

    root, base = site
    m = folium.Map(location=[43.06, 141.35], zoom_start=12)
    folium.CircleMarker([43.06, 141.35], radius=8, tooltip="Odori").add_to(m)
    folium.PolyLine([[43.05, 141.33], [43.07, 141.37]]).add_to(m)
    folium.Marker([43.068, 141.35], tooltip="Sapporo").add_to(m)
    m.save(root / "folium.html")
    found, external = _open_offline(browser, base + "/folium.html")
    assert external == []
    assert found["leaflet"] == "1.9.4"
    assert found["paths"] == 2 and found["markers"] == 1
    assert found["tiles"] == 0


def test_the_notebook_repr_of_a_folium_map_draws_offline(browser, site):
    import folium

    root, base = site
    m = folium.Map(location=[43.06, 141.35], zoom_start=12)
    folium.CircleMarker([43.06, 141.35], radius=8).add_to(m)
    # what JupyterLab shows: folium's _repr_html_ (an iframe around the document)
    (root / "repr.html").write_text(f"<html><body>{m._repr_html_()}</body></html>")
    found, external = _open_offline(browser, base + "/repr.html")
    assert external == [] and found["leaflet"] == "1.9.4" and found["paths"] == 1


def test_configured_tiles_replace_named_providers_and_explicit_templates_stay(monkeypatch):
    import folium

    monkeypatch.setenv("WORKBENCH_TILES", "http://127.0.0.1:9/{z}/{x}/{y}.png")
    monkeypatch.setenv("WORKBENCH_TILES_ATTRIBUTION", "Local tiles")
    html = folium.Map(tiles="OpenStreetMap").get_root().render()
    assert "http://127.0.0.1:9/{z}/{x}/{y}.png" in html and "Local tiles" in html
    assert "openstreetmap.org" not in html
    html = folium.Map(tiles="http://tiles.local/{z}/{x}/{y}.png", attr="mine").get_root().render()
    assert "http://tiles.local/{z}/{x}/{y}.png" in html
    monkeypatch.delenv("WORKBENCH_TILES")
    html = folium.Map().get_root().render()
    assert "tile.openstreetmap.org" not in html and "cdn.jsdelivr" not in html
    osm = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"  # what explore() passes on
    assert osm not in folium.Map(tiles=osm, attr="OSM").get_root().render()
