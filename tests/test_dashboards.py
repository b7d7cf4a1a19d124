"""The public dashboards, served by a real Voilà server over a seeded exchange, in Chromium.

One Voilà server (preheated kernels) serves all dashboards for this module; each dashboard is
opened exactly once (a second visit would wait for its kernel pool to refill). All http(s)
requests that leave 127.0.0.1 are blocked and recorded: there must be none.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd
import pytest
from servers import free_port

from workbench import maps
from workbench.dashboards import health, serve_dashboards, voila_command

REPO = Path(__file__).resolve().parents[1]
DASHBOARDS = sorted(p.name for p in (REPO / "dashboards").glob("*.ipynb"))
RENDER_TIMEOUT_MS = 150_000  # the first visit may wait for the kernel's preheated run

pytestmark = pytest.mark.slow


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def public_key(seeded_exchange) -> str:
    accounts = seeded_exchange.credentials["accounts"]
    return next(a["api_key"] for a in accounts if a["kind"] == "public")


@pytest.fixture(scope="module")
def voila(seeded_exchange, public_key, tmp_path_factory):
    """``serve_dashboards`` on a free port with the public credential; always stopped."""
    port = free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    env = {
        **os.environ,
        "WORKBENCH_URL": seeded_exchange.url,
        "WORKBENCH_API_KEY": public_key,
    }
    proc = serve_dashboards(port=port, env=env, log_path=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited early:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"voila did not answer:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class Visit:
    """A page with its console errors and any request that tried to leave the machine."""

    def __init__(self, browser) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 1000})
        self.errors: list[str] = []
        self.remote: list[str] = []
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("http://", "https://", "ws://")) and not re.match(
            r"^(https?|ws)://(127\.0\.0\.1|localhost)[:/]", url
        ):
            self.remote.append(url)
            route.abort()
        else:
            route.continue_()

    def open(self, url: str) -> float:
        started = time.monotonic()
        self.page.goto(url, timeout=RENDER_TIMEOUT_MS)
        self.page.wait_for_selector("img.widget-image", timeout=RENDER_TIMEOUT_MS)
        self.map_paths(at_least=10)
        return time.monotonic() - started

    def map_paths(self, *, at_least: int) -> int:
        frame = self.page.frame_locator("iframe.workbench-map").first
        frame.locator(".leaflet-overlay-pane path").nth(at_least - 1).wait_for(timeout=60_000)
        return frame.locator(".leaflet-overlay-pane path").count()

    def chart(self, index: int = 0) -> str:
        return self.page.locator("img.widget-image").nth(index).get_attribute("src") or ""

    def wait_chart_change(self, before: str, index: int = 0) -> None:
        self.page.wait_for_function(
            "([b, i]) => document.querySelectorAll('img.widget-image')[i].src !== b",
            arg=[before, index],
            timeout=30_000,
        )

    def select(self, index: int, label_prefix: str) -> None:
        select = self.page.locator(".widget-dropdown select").nth(index)
        labels = select.evaluate("s => [...s.options].map(o => o.text)")
        # ipywidgets writes option labels with non-breaking spaces
        label = next(x for x in labels if x.replace("\xa0", " ").startswith(label_prefix))
        select.select_option(label=label)

    def assert_clean(self) -> None:
        body = self.page.content()
        assert "Failed to load model class" not in body
        assert self.errors == []
        assert self.remote == []

    def close(self) -> None:
        self.page.close()


def _footer(page) -> str:
    return page.inner_text(".workbench-footer")


# --------------------------------------------------------------------------- launcher


def test_voila_command_strips_sources_preheats_culls_and_uses_the_offline_template():
    command = " ".join(voila_command(dashboards_dir=REPO / "dashboards", port=8866))
    for flag in (
        "--strip_sources=True",
        "--preheat_kernel=True",
        "--pool_size=1",
        "--MappingKernelManager.cull_idle_timeout=600",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=False",
        "--WorkbenchVoila.max_kernels=12",
        "--WorkbenchVoila.max_kernels_per_client=3",
        "--template=workbench",
        "--no-browser",
    ):
        assert flag in command


def test_serve_dashboards_needs_the_exchange_url(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_URL"}
    with pytest.raises(ValueError, match="WORKBENCH_URL"):
        serve_dashboards(dashboards_dir=tmp_path, port=free_port(), env=env)


def test_dashboards_are_committed_without_outputs():
    import nbformat

    for name in DASHBOARDS:
        notebook = nbformat.read(REPO / "dashboards" / name, as_version=4)
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), name
    result = subprocess.run(
        [sys.executable, str(REPO / "dashboards" / "_build.py"), "--check"], capture_output=True
    )
    assert result.returncode == 0, result.stdout.decode()


# --------------------------------------------------------------------------- in the browser


def test_landing_page_links_each_dashboard_with_attribution_and_no_cdn(voila):
    page = httpx.get(voila + "/", timeout=10).text
    for name in DASHBOARDS:
        assert f"/voila/render/{name}" in page
    assert "synthetic" in page.lower()
    assert "e-Stat" in page
    assert "City-centre foot traffic" in page and "open aggregate" in page
    assert maps.external_resources(page) == []


def test_landing_page_says_warming_up_until_every_dashboard_has_a_warm_kernel(
    browser, tmp_path
):
    """A visitor who arrives before the preheated kernels ran their notebooks is told so."""
    import nbformat

    from workbench.up import wait_until_warm

    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(6)\nprint('ready')")],
        metadata={"kernelspec": {"display_name": "Python 3 (ipykernel)",
                                 "language": "python", "name": "python3"}},
    )
    nbformat.write(notebook, tmp_path / "slow.ipynb")
    port = free_port()
    env = {**os.environ, "WORKBENCH_URL": "http://127.0.0.1:9"}
    proc = serve_dashboards(
        dashboards_dir=tmp_path, port=port, env=env, log_path=tmp_path / "voila.log"
    )
    url = f"http://127.0.0.1:{port}/"
    page = browser.new_page()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "voila.log").read_text()[-2000:]
            time.sleep(0.2)
        assert httpx.get(url + "workbench/ready", timeout=5).json()["ready"] is False
        assert wait_until_warm(url, proc, timeout_s=0.5) is False
        page.goto(url)
        notice = page.locator("#wb-warming")
        notice.wait_for(state="visible", timeout=10_000)
        text = notice.inner_text()
        assert text.index("準備しています") < text.index("warming up")  # Japanese first
        assert wait_until_warm(url, proc, timeout_s=90) is True
        notice.wait_for(state="hidden", timeout=10_000)  # the page notices by itself
        status = httpx.get(url + "workbench/ready", timeout=5).json()
        assert status == {"ready": True, "dashboards": {"slow.ipynb": {"warm": 1, "pool": 1}}}
    finally:
        page.close()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_health_map_classes_follow_the_values_each_state_shows():
    """"All ages" counts are ~8x one band's: shared edges made every ward one colour."""
    states = pd.DataFrame({
        "2025-01|All": [1200.0, 2500, 3100, 4000, 5200, 6100, 7400, 8800, 9100, 12000],
        "2025-01|20-29": [0.0, 12, 15, 22, 30, None, 41, 55, 60, 80],
    })
    edges = health.map_class_edges(states)
    for state, column in states.items():
        classes = pd.cut(column, edges[state], include_lowest=True, labels=False)
        assert classes.nunique() >= 4, (state, edges[state])
        assert edges[state][0] == 0 and edges[state][-1] > column.max()
    assert edges["2025-01|All"][1] >= 1000  # rounded, readable edges
    assert all(e == round(e, -2) for e in edges["2025-01|All"][1:-1])


def test_health_dashboard_shows_only_suppressed_aggregates(
    voila, browser, seeded_exchange, public_key
):
    visit = Visit(browser)
    try:
        visit.open(voila + "/voila/render/health_points.ipynb")
        assert visit.map_paths(at_least=20) >= 20  # 10 ward outlines + 10 choropleth wards
        page = visit.page
        assert "public_exchange" not in page.content()  # sources stripped
        assert public_key not in page.content()  # the credential never reaches the page
        cells_seen = [_visible_counts(page)]
        for index, label in [(0, "Kiyota"), (1, "80+"), (0, "Teine"), (1, "20-29")]:
            before = visit.chart()
            visit.select(index, label)
            visit.wait_chart_change(before)
            cells_seen.append(_visible_counts(page))
        assert "suppressed" in page.inner_text("body")
        footer = _footer(page)
        assert "Synthetic data" in footer and "札幌市" in footer
        # back at "all ages": the wards' classes come from the counts shown, not one colour
        before = visit.chart()
        visit.select(1, "All ages")
        visit.wait_chart_change(before)
        fills = page.frame_locator("iframe.workbench-map").first.locator(
            ".leaflet-overlay-pane path[fill-opacity='0.75']"
        ).evaluate_all("ps => ps.map(p => p.getAttribute('fill'))")
        assert len(fills) == 10 and len(set(fills)) >= 3, fills
        _assert_fits_a_phone(page)
        visit.assert_clean()
    finally:
        visit.close()
    counts = [n for table in cells_seen for n in table]
    assert counts, "the age-band table showed no numbers"
    assert all(n == 0 or n >= 10 for n in counts), sorted(set(n for n in counts if 0 < n < 10))


def _visible_counts(page) -> list[int]:
    """People counts in the table: the columns headed "people" (steps are not counts)."""
    rows = page.evaluate(
        """() => { const t = document.querySelector('table.workbench-table');
                   const row = [...t.querySelectorAll('thead tr')].find(r =>
                       [...r.querySelectorAll('th')].some(h => h.innerText.trim() === 'people'));
                   const heads = [...row.querySelectorAll('th')].map(h => h.innerText.trim());
                   return [...t.querySelectorAll('tbody tr')].map(r =>
                       [...r.querySelectorAll('td')].map((d, i) => [heads[i + 1], d.innerText]));
                 }"""
    )
    out = []
    for row in rows:
        for head, text in row:
            if head == "people" and re.fullmatch(r"[\d,]+", text.strip()):
                out.append(int(text.replace(",", "")))
    return out


def test_policy_dashboard_shows_foot_traffic_and_ridership_estimates_with_the_truth(
    voila, browser
):
    """Both series come from open products, so the public credential sees both panels."""
    foot, ride = 0, 1  # chart images: foot traffic first, then ridership
    visit = Visit(browser)
    try:
        visit.open(voila + "/voila/render/policy_effects.ipynb")
        page = visit.page
        body = page.inner_text("body")
        assert "Foot traffic" in body and "Subway ridership" in body
        assert "All sensors (8, total)" in body and "City-centre stations" in body
        assert body.count("Estimated effect") == 2 and body.count("True effect") == 2
        # the interval in plain words, Japanese first; no statisticians' shorthand
        assert body.count("の範囲と推定されます（95%信頼区間）") == 2
        assert body.count("(95% confidence interval)") == 2
        assert body.index("の範囲と推定されます") < body.index("The effect is estimated to lie")
        assert "95% CI" not in body and "distinguishable from zero" not in body
        assert "does not offer the daily pedestrian totals" not in body
        assert page.locator("img.widget-image").count() == 2
        # the sensor control redraws the foot-traffic chart and estimate, not the ridership
        before, other = visit.chart(foot), visit.chart(ride)
        visit.select(1, "Ekimae-dori ground Kita 2-jo")
        visit.wait_chart_change(before, foot)
        body = page.inner_text("body")
        assert "on Ekimae-dori ground Kita 2-jo" in body
        titles = page.locator(".workbench-chart-title").all_inner_texts()
        assert titles[0].startswith("Pedestrians, Ekimae-dori ground Kita 2-jo"), titles
        assert titles[1].startswith("Subway boardings, City-centre stations"), titles
        assert "True effect in the synthetic generator: +20.0%" in body
        assert visit.chart(ride) == other
        # the event redraws both
        before, other = visit.chart(foot), visit.chart(ride)
        visit.select(0, "Sapporo Snow Festival")
        visit.wait_chart_change(before, foot)
        visit.wait_chart_change(other, ride)
        assert "Snow Festival" in page.inner_text("body")
        before = visit.chart(ride)
        page.get_by_role("button", name="Difference-in-differences").click()
        visit.wait_chart_change(before, ride)
        body = page.inner_text("body")
        assert "difference-in-differences" in body
        # every sensor had the festival: the foot-traffic panel says so and shows the ITS
        assert "affected every sensor, so the interrupted time series is shown" in body
        before = visit.chart(ride)
        visit.select(0, "Autumn")  # affects every station too
        visit.wait_chart_change(before, ride)
        assert "affected every station" in page.inner_text("body")
        assert page.inner_text("body").count("Estimated effect") == 2
        assert visit.map_paths(at_least=10) >= 10 + 46 + 8  # wards, stations and sensors
        state = (
            "() => document.querySelector('iframe.workbench-map')"
            ".contentDocument.body.getAttribute('data-map-state')"
        )
        page.wait_for_function(f"() => ({state})() === 'walking_points_campaign'", timeout=10_000)
        footer = _footer(page)
        assert "SYNTHETIC" in footer.upper() and "Hokkaido Foot Traffic Analytics" in footer
        # a station chart is titled by the station's name, not only its code (N06)
        before = visit.chart(ride)
        visit.select(2, "N06")
        visit.wait_chart_change(before, ride)
        station = page.locator(".widget-dropdown select").nth(2).evaluate(
            "s => s.options[s.selectedIndex].text")
        title = page.locator(".workbench-chart-title").nth(1).inner_text()
        assert title.replace("\xa0", " ").startswith(
            "Subway boardings, " + station.replace("\xa0", " ")), (title, station)
        assert re.search(r"N06\s+\S", title), title  # a name follows the code
        _assert_fits_a_phone(page)
        visit.assert_clean()
    finally:
        visit.close()


def test_walkability_dashboard_switches_map_state_ranking_and_chart(voila, browser):
    visit = Visit(browser)
    try:
        visit.open(voila + "/voila/render/walkability.ipynb")
        page = visit.page
        assert visit.map_paths(at_least=5000) > 5000  # every 町丁目 is drawn
        state = (
            "() => document.querySelector('iframe.workbench-map')"
            ".contentDocument.body.getAttribute('data-map-state')"
        )
        assert page.evaluate(state) == "subway|15"
        ranking = page.inner_text("table.workbench-table")
        before = visit.chart()
        visit.select(0, "Hospitals")
        visit.wait_chart_change(before)
        page.wait_for_function(f"() => ({state})() === 'hospital|15'", timeout=10_000)
        assert page.inner_text("table.workbench-table") != ranking
        assert "of Sapporo's residents" in page.inner_text("body")
        assert "e-Stat" in _footer(page)
        _check_walkability_view_ranking_and_phone_layout(visit)  # one visit per dashboard
        visit.assert_clean()
    finally:
        visit.close()


def _assert_fits_a_phone(page) -> None:
    """At 390 px wide every control, map and chart stays on screen; no sideways scroll."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)  # let the layout reflow
    controls = page.eval_on_selector_all(
        ".widget-dropdown, .widget-hslider, .widget-selectionslider, .widget-toggle-buttons, "
        ".widget-toggle-button, iframe.workbench-map, img.widget-image",
        "els => els.map(e => {const r = e.getBoundingClientRect();"
        " return [e.className, r.left, r.right]})")
    assert len(controls) >= 4
    for name, left, right in controls:
        assert left >= -1 and right <= 391, (name, left, right)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 391, width  # nothing makes the page scroll sideways


_LEAFLET_VIEW = """() => {
  const win = document.querySelector('iframe.workbench-map').contentWindow;
  const map = win[Object.keys(win).find(k => k.startsWith('map_'))];
  const b = map.getBounds();
  return {zoom: map.getZoom(), south: b.getSouth(), west: b.getWest(),
          north: b.getNorth(), east: b.getEast()};
}"""


def _check_walkability_view_ranking_and_phone_layout(visit: Visit) -> None:
    """The map opens on the built-up city; the ranking is readable; a phone sees it all."""
    page = visit.page
    view = page.evaluate(_LEAFLET_VIEW)
    assert view["zoom"] >= 11, view  # the built-up city fills the map, not a corner of it
    for lat, lon in [(43.0600, 141.3521), (43.0687, 141.3508), (43.0395, 141.4750),
                     (43.1305, 141.3660)]:  # Ōdōri, Sapporo, Shin-Sapporo, Yurigahara
        assert view["south"] < lat < view["north"] and view["west"] < lon < view["east"]
    visit.select(0, "Walk score")
    page.wait_for_function(
        "() => document.querySelector('table.workbench-table th:nth-child(5)')"
        "?.innerText.includes('walk score')", timeout=30_000)
    residents = page.eval_on_selector_all(
        "table.workbench-table tbody tr td:nth-child(4)", "tds => tds.map(t => t.innerText)")
    assert len(residents) == 15
    assert all(int(r.replace(",", "")) >= 50 for r in residents), residents
    assert "at least 50 residents" in page.inner_text(".workbench-table-wrap")
    cell = page.locator("table.workbench-table tbody td").nth(3)
    style = cell.evaluate(
        "td => {const s = getComputedStyle(td); return [s.paddingLeft, s.paddingRight,"
        " s.textAlign, s.borderBottomStyle]}")
    assert float(style[0].removesuffix("px")) >= 4 and float(style[1].removesuffix("px")) >= 4
    assert style[2] == "right" and style[3] == "solid"  # numbers line up; rows ruled
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)  # let the layout reflow
    controls = page.eval_on_selector_all(
        ".widget-dropdown, .widget-hslider, .widget-selectionslider, iframe.workbench-map, "
        "img.widget-image",
        "els => els.map(e => {const r = e.getBoundingClientRect();"
        " return [e.className, r.left, r.right]})")
    assert len(controls) >= 4
    for name, left, right in controls:
        assert left >= -1 and right <= 391, (name, left, right)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 391, width  # nothing makes the page scroll sideways


def test_walkability_dashboard_scores_the_centre_like_the_centre(seeded_exchange, public_key):
    """The dashboard's own data path (products read with the public key) ranks the centre."""
    from workbench.analysis.walkability import area_walkability
    from workbench.dashboards import public_exchange, walkability

    exchange = public_exchange(url=seeded_exchange.url, api_key=public_key)
    roads, areas, amenities = walkability.load_inputs(exchange)
    jr = amenities[amenities["category"] == "jr"]
    assert (jr.geom_type != "Point").all()  # stations stand on their footprints
    data = walkability.compute_walkability(roads, areas, amenities)
    same = area_walkability(roads, areas, amenities, minutes=list(walkability.MINUTES))
    pd.testing.assert_series_equal(data.score, same.score)  # one definition
    percentile = data.score.rank(pct=True)
    block = data.areas.index[data.areas["name"] == "北五条西三丁目"][0]
    assert percentile[block] >= 0.9 and data.access.loc[block, "minutes_to_jr"] < 8
    centre = data.areas.to_crs(6680).centroid.distance(
        gpd.GeoSeries.from_xy([141.352143], [43.060006], crs=4326).to_crs(6680).iloc[0])
    populated = data.areas["population"] > 0
    near = populated & (centre < 3000)
    assert near.sum() > 500 and (data.score[near] > 20).all()
    table = walkability.ranking(data, walkability.SCORE, 15, ward_names={})
    assert (table["residents (2020)"] >= walkability.RANKING_MIN_RESIDENTS).all()


# --------------------------------------------------------------------------- privacy, exhaustive


def test_no_combination_of_health_controls_shows_a_cell_under_10(seeded_exchange, public_key):
    """Every ward × month × age band selection the dashboard can show, checked in Python."""
    from workbench.dashboards import public_exchange

    exchange = public_exchange(url=seeded_exchange.url, api_key=public_key)
    table = health.check_publishable(health.load_health_table(exchange))
    for ward in table["ward_code"].unique():
        for month in table["month"].unique():
            shown = health.age_band_table(table, ward_code=ward, month=month)
            people = shown.xs("people", axis=1, level=1).stack()
            numbers = pd.to_numeric(people.str.replace(",", ""), errors="coerce").dropna()
            assert ((numbers == 0) | (numbers >= 10)).all(), (ward, month)
    states = health.ward_states(table, sorted(set(table["ward_code"]) - {health.TOTAL}))
    values = states.stack().dropna()
    assert ((values == 0) | (values >= 10)).all()


def test_health_views_refuse_a_table_with_a_visible_small_cell_and_blank_suppressed_ones():
    frame = pd.DataFrame(
        {
            "month": ["2024-06"] * 3,
            "wardId": ["01101", "01101", "All"],
            "ageBand": ["80+", "70-79", "All"],
            "status": ["enrolled"] * 3,
            "personCount": [3, 12, 40],
            "dailyStepsMean": [5000.0, 6000.0, 6500.0],
            "suppressed": [False, True, False],
        }
    )
    table = health.normalise_health_table(frame)
    assert table.loc[table["age_band"] == "70-79", "persons"].isna().all()  # flagged: blanked
    with pytest.raises(health.UnsafeTableError, match="fewer than 10 people"):
        health.check_publishable(table)
    safe = health.check_publishable(table[table["age_band"] != "80+"])
    shown = health.age_band_table(safe, ward_code="01101", month="2024-06")
    assert "suppressed" in shown.to_numpy().ravel().tolist()
