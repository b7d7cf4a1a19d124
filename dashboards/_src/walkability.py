# %% [markdown]
# # Walkability by 町丁目: what can residents reach on foot?
#
# For each of Sapporo's census small areas (町丁目), how many stations, schools, nurseries,
# hospitals or evacuation sites are within a given walk, along the city's road network at
# 80 m a minute. Choose the amenity and the walking time; the map, the ranking and the ward
# chart follow. Walk score: a 0–100 distance-decay score over all categories (full credit
# within 5 minutes, none beyond 30).
#
# *What the network lacks*: it is the city-managed roads only (no national or prefectural
# arterials, footpaths or park paths; the main underground walkways are added by hand), with
# no slopes or snow, so real walks can be shorter or slower than shown.

# %%
import functools

import ipywidgets as widgets
from IPython.display import HTML, display

from workbench import maps
from workbench.dashboards import (
    footer_html,
    load_wards,
    notice_html,
    product_attributions,
    public_exchange,
    walkability,
)

exchange = public_exchange()
roads, areas, amenities = walkability.load_inputs(exchange)
data = walkability.compute_walkability(roads, areas, amenities)  # once per kernel
wards = load_wards(exchange)
ward_names = dict(zip(wards["ward_code"], wards["label"], strict=True))
ward_english = dict(zip(wards["ward_code"], wards["name_en"], strict=True))
attributions = product_attributions(exchange, [
    "sapporo-small-areas", "sapporo-roads", "sapporo-facilities", "sapporo-rail",
    "sapporo-wards"])

# %%
states = walkability.map_states(data)
counts = list(states.columns)
states[walkability.SCORE] = data.score
area_map = maps.base_map(wards=wards, fit_wards=False,  # the wards reach into the mountains
                         attribution="e-Stat census boundaries; City of "
                         "Sapporo roads; MLIT N02; GSI; Hokkaido; Code for Sapporo")
maps.linked_choropleth(
    data.areas, states, m=area_map, link="walk",
    bins={**dict.fromkeys(counts, walkability.COUNT_EDGES),
          walkability.SCORE: walkability.SCORE_EDGES},
    class_labels={**dict.fromkeys(counts, walkability.COUNT_LABELS),
                  walkability.SCORE: walkability.SCORE_LABELS},
    tooltip=["name", "population"],
    legend_titles={**{s: f"{walkability.PLURALS[s.split('|')[0]]} within "
                         f"{s.split('|')[1]} min" for s in counts},
                   walkability.SCORE: "walk score (0-100)"},
    initial="subway|15", simplify_deg=None)
# the one initial view: where 99% of residents live (after the wards' fit, a second fitBounds
# is an animated zoom that never landed in Chromium: the map stayed at zoom 10)
area_map.fit_bounds(walkability.populated_bounds(data.areas))

category = widgets.Dropdown(
    options=[(walkability.PLURALS[key], key) for key in data.categories]
    + [("Walk score (all categories)", walkability.SCORE)],
    value="subway", description="Amenity",
    layout=widgets.Layout(flex="1 1 280px", max_width="420px", min_width="0"))
minutes = widgets.SelectionSlider(options=list(walkability.MINUTES), value=15,
                                  description="Walk (min)", continuous_update=False,
                                  layout=widgets.Layout(flex="1 1 280px", max_width="400px",
                                                        min_width="0"))
headline = widgets.HTML()
map_link = widgets.HTML()
map_view = widgets.HTML(maps.to_iframe(area_map, height=520, title="walkability by 町丁目"))
ranking = widgets.HTML(layout=widgets.Layout(flex="1 1 340px", min_width="0"))
chart = widgets.Image(format="png", layout=widgets.Layout(flex="1 1 300px", min_width="0",
                                                          max_width="100%",
                                                          object_fit="contain"))
wrap = widgets.Layout(flex_flow="row wrap", width="100%", grid_gap="8px")


@functools.lru_cache(maxsize=128)
def ward_chart(category_key, walk_minutes):
    summary = walkability.ward_summary(data, category_key, walk_minutes, ward_names=ward_names)
    title = ("Walk score by ward" if category_key == walkability.SCORE else
             f"Residents within {walk_minutes} min of a "
             f"{walkability.CATEGORIES[category_key]}")
    return walkability.plot_wards(summary, title=title, english=ward_english)


def update(*_):
    key, walk = category.value, minutes.value
    share = walkability.city_share(data, key, walk)
    if key == walkability.SCORE:
        headline.value = notice_html(f"Resident-weighted walk score of Sapporo: <b>{share:.0f}"
                                     "</b> of 100 (the walking time does not change it).")
        map_link.value = maps.link_state("walk", walkability.SCORE)
    else:
        noun = walkability.CATEGORIES[key]
        headline.value = notice_html(
            f"<b>{share:.0f}%</b> of Sapporo's residents (2020 census) live within "
            f"<b>{walk} minutes</b>' walk of a {noun}.")
        map_link.value = maps.link_state("walk", walkability.state(key, walk))
    table = walkability.ranking(data, key, walk, ward_names=ward_names)
    ranking.value = walkability.ranking_html(
        table, title="Best-served 町丁目",
        note=f"Small areas with at least {walkability.RANKING_MIN_RESIDENTS} residents (2020 "
             "census); areas the walking network does not reach are left out.")
    chart.value = ward_chart(key, walk)


for control in (category, minutes):
    control.observe(update, names="value")
update()
display(widgets.VBox([widgets.HBox([category, minutes], layout=wrap), headline, map_link,
                      map_view, widgets.HBox([ranking, chart], layout=wrap)],
                     layout=widgets.Layout(width="100%", max_width="100%")))

# %% [markdown]
# **Method.** Each small area starts at its centroid, joins the nearest node of the main road
# network (pieces cut off by a missing national or prefectural road are left out), and walks
# along it; a station is entered at every road node near its platforms, on both sides of its
# tracks. One multi-source shortest-path search gives the minutes to the nearest amenity of
# every category, and distance-limited searches from all amenities count those within each
# walking time (`workbench.analysis.walkability.area_walkability`, the same definition as the
# walkability notebook). Transfer stations count once. Areas more than 500 m from the network
# (mountain and forest areas) are grey: no score. Points of interest are dated (hospitals
# 2015, schools about 2014, nurseries 2017).

# %%
display(HTML(footer_html(attributions, synthetic=False)))
