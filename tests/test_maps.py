"""Offline folium maps: Leaflet inlined from the package, ward polygons as the base layer."""

from __future__ import annotations

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from workbench import maps


@pytest.fixture(scope="module")
def wards() -> gpd.GeoDataFrame:
    from workbench.datasets.wards import load_wards

    return load_wards()


@pytest.fixture(scope="module")
def grid() -> gpd.GeoDataFrame:
    """A 6 x 5 grid of cells over central Sapporo with a value and one missing value."""
    cells = [
        box(141.30 + 0.01 * i, 43.02 + 0.01 * j, 141.31 + 0.01 * i, 43.03 + 0.01 * j)
        for i in range(6)
        for j in range(5)
    ]
    values = np.arange(len(cells), dtype=float)
    values[3] = np.nan
    return gpd.GeoDataFrame(
        {"name": [f"cell {k}" for k in range(len(cells))], "score": values},
        geometry=cells,
        crs="EPSG:4326",
    )


def _full_map(wards: gpd.GeoDataFrame, grid: gpd.GeoDataFrame) -> folium.Map:
    m = maps.base_map(wards=wards, ward_label="ward_name_en", attribution="e-Stat (test)")
    maps.choropleth(grid, "score", m=m, legend_name="walk score", tooltip=["name", "score"])
    stations = pd.DataFrame(
        {"station": ["Odori", "Sapporo"], "lat": [43.0606, 43.0686], "lon": [141.3543, 141.3507]}
    )
    maps.add_points(stations, m=m, name="stations", tooltip="station")
    folium.LayerControl().add_to(m)
    return m


def test_rendered_map_loads_nothing_from_the_internet(wards, grid):
    html = maps.to_html(_full_map(wards, grid))

    assert maps.external_resources(html) == []
    assert '"1.9.4"' in html  # the vendored Leaflet's version string is in the page


def test_external_resources_reports_scripts_styles_and_images_but_not_links():
    # a made-up page on reserved .invalid hosts (RFC 2606): nothing is fetched
    page = (
        '<script src="https://assets.invalid/x.js"></script>'
        '<link rel="stylesheet" href="//assets.invalid/x.css">'
        '<style>.a{background:url("http://img.invalid/a.png")}</style>'
        '<a href="https://leafletjs.com">Leaflet</a>'
        '<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    )
    assert maps.external_resources(page) == [
        "//assets.invalid/x.css",
        "http://img.invalid/a.png",
        "https://assets.invalid/x.js",
    ]


def test_tiles_are_added_only_when_configured(monkeypatch, wards):
    monkeypatch.delenv("WORKBENCH_TILES", raising=False)
    assert "L.tileLayer" not in maps.to_html(maps.base_map(wards=wards))

    monkeypatch.setenv("WORKBENCH_TILES", "http://tiles.local/{z}/{x}/{y}.png")
    html = maps.to_html(maps.base_map(wards=wards))
    assert "L.tileLayer" in html and "http://tiles.local/{z}/{x}/{y}.png" in html


def test_folium_features_that_need_a_cdn_are_refused_with_advice(wards):
    m = maps.base_map(wards=wards)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(maps.OfflineMapError, match="load code from the internet"):
        maps.to_html(m)


def test_choropleth_rejects_unknown_column_and_frames_without_crs(grid):
    with pytest.raises(KeyError, match="'walk'"):
        maps.choropleth(grid, "walk")
    with pytest.raises(ValueError, match="no CRS"):
        maps.choropleth(
            gpd.GeoDataFrame(grid.drop(columns="geometry"), geometry=list(grid.geometry)), "score"
        )


def test_choropleth_legend_shows_classes_and_missing_values(grid):
    html = maps.to_html(maps.choropleth(grid, "score", bins=[0, 10, 20, 30]))
    # the legend is a JSON string in the page: the en dash is escaped
    assert "0 \\u2013 10" in html and "20 \\u2013 30" in html
    assert "no data / suppressed" in html


def test_map_draws_wards_in_chromium_without_network_or_errors(browser, wards, grid):
    page = browser.new_page()
    problems: list[str] = []
    remote: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    def block_remote(route):
        url = route.request.url
        if url.startswith(("http://", "https://")):
            remote.append(url)
            return route.abort()
        return route.continue_()

    page.route("**/*", block_remote)
    try:
        page.set_content(maps.to_html(_full_map(wards, grid)))
        page.wait_for_function(
            "document.querySelectorAll('.leaflet-overlay-pane path').length >= 10 + 29",
            timeout=15_000,
        )
        assert page.evaluate("typeof window.L === 'object' && L.version") == "1.9.4"
        assert page.evaluate("document.querySelectorAll('.leaflet-overlay-pane path').length") >= 41
        attribution = page.inner_text(".leaflet-control-attribution")
        assert "e-Stat (test)" in attribution
        assert "walk score" in page.inner_text(".workbench-legend")
        assert (
            page.evaluate(
                "document.querySelectorAll('.leaflet-control-layers-overlays label').length"
            )
            == 3
        )
    finally:
        page.close()
    assert problems == []
    assert remote == []


def test_map_in_an_iframe_snippet_renders_like_a_dashboard_shows_it(browser, wards):
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    try:
        m = maps.base_map(wards=wards, attribution="test attribution")
        page.set_content(f"<html><body><h1>dash</h1>{maps.to_iframe(m, height=300)}</body></html>")
        frame = page.frame_locator("iframe.workbench-map")
        frame.locator(".leaflet-overlay-pane path").first.wait_for(timeout=15_000)
        assert frame.locator(".leaflet-overlay-pane path").count() == 10
    finally:
        page.close()
    assert problems == []


def test_linked_choropleth_switches_state_from_the_parent_page(browser, wards, grid):
    values = pd.DataFrame({"up": grid["score"], "down": -grid["score"]}, index=grid.index)
    m = maps.base_map(wards=wards)
    maps.linked_choropleth(grid, values, m=m, link="demo", tooltip=["name"], bins=3)
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    fills = (
        "() => [...document.querySelector('iframe.workbench-map').contentDocument"
        ".querySelectorAll('.leaflet-overlay-pane path')].slice(10)"
        ".map(p => p.getAttribute('fill'))"
    )
    try:
        page.set_content(f'<div id="link">{maps.link_state("demo", "up")}</div>{maps.to_iframe(m)}')
        frame = page.frame_locator("iframe.workbench-map")
        frame.locator(".leaflet-overlay-pane path").nth(39).wait_for(timeout=15_000)
        before = page.evaluate(fills)
        page.evaluate(
            "html => { document.getElementById('link').innerHTML = html; }",
            maps.link_state("demo", "down"),
        )
        page.wait_for_function(
            "document.querySelector('iframe.workbench-map').contentDocument.body"
            ".getAttribute('data-map-state') === 'down'",
            timeout=5_000,
        )
        after = page.evaluate(fills)
        assert "down" in frame.locator(".workbench-legend").inner_text()
    finally:
        page.close()
    lightest, darkest = maps.DEFAULT_COLORS[0], maps.DEFAULT_COLORS[-1]
    assert (before[0], after[0]) == (lightest, darkest)  # cell 0: lowest "up", highest "down"
    assert before[3] == after[3] == "#d9d9d9"  # the missing value stays "no data"
    assert problems == []


def test_add_points_with_no_points_leaves_the_map_unchanged(wards):
    m = maps.base_map(wards=wards)
    empty = pd.DataFrame({"station": [], "lat": [], "lon": []})
    maps.add_points(empty, m=m, tooltip="station")
    assert maps.external_resources(maps.to_html(m)) == []
