# %% [markdown]
# # Health-point programme (健幸ポイント): participation and steps
#
# How many people take part in Sapporo's health-point programme, and how much they walk,
# by ward, age band and month. **The data are synthetic**: health-point records are
# personal, so the workbench generates a realistic programme (seeded) and publishes only
# aggregates. Every figure on this page is a cell of one table (month × ward × age band ×
# status, with totals). **Counts of 1–9 people are suppressed**, and further cells are
# suppressed with them, the same cells in every month, because the same people are counted
# every month. The whole table, all months together, is checked by linear programming: from
# everything shown, no suppressed count of 1–9 people can be narrowed to less than 5 people
# either side of its true value (down to 0). Zeros are shown. Mean steps are hidden wherever
# the count is; they are not otherwise perturbed.

# %%
import functools

import ipywidgets as widgets
from IPython.display import HTML, display

from workbench import maps
from workbench.dashboards import (
    footer_html,
    health,
    load_wards,
    notice_html,
    product_attributions,
    public_exchange,
)

PRODUCT = "health-points-aggregate"
exchange = public_exchange()
table = health.check_publishable(health.load_health_table(exchange, PRODUCT))
wards = load_wards(exchange)
attributions = product_attributions(exchange, [PRODUCT, "sapporo-wards"])
months = sorted(table["month"].unique())
bands = [b for b in sorted(table["age_band"].unique()) if b != health.TOTAL]
ward_names = dict(zip(wards["ward_code"], wards["label"], strict=True))
ward_names_en = dict(zip(wards["ward_code"], wards["name_en"], strict=True))

# %%
states = health.ward_states(table, list(wards["ward_code"]))
edges = health.map_class_edges(states)  # classes from the values each state shows
titles = {s: f"participants, {s.split('|')[0]}, age {s.split('|')[1].replace('All', 'all')}"
          for s in states.columns}
ward_map = maps.base_map(wards=wards, ward_label="label",
                         attribution="wards: e-Stat census boundaries; counts: SYNTHETIC")
maps.linked_choropleth(wards, states.set_axis(wards.index), m=ward_map, link="health",
                       bins=edges, legend_titles=titles, tooltip=["label"],
                       initial=f"{months[-1]}|{health.TOTAL}")

# phone width (390 px): controls shrink and wrap instead of running off the screen
fit = {"flex": "1 1 260px", "max_width": "360px", "min_width": "0"}
wrap = widgets.Layout(flex_flow="row wrap", width="100%", grid_gap="8px")
ward = widgets.Dropdown(
    options=[("Sapporo (all wards)", health.TOTAL), *[(v, k) for k, v in ward_names.items()]],
    value=health.TOTAL, description="Ward", layout=widgets.Layout(**fit))
band = widgets.Dropdown(options=[("All ages", health.TOTAL), *[(b, b) for b in bands]],
                        value=health.TOTAL,
                        description="Age band", layout=widgets.Layout(**fit))
month = widgets.SelectionSlider(options=months, value=months[-1], description="Month",
                                continuous_update=False,
                                layout=widgets.Layout(width="100%", max_width="520px",
                                                      min_width="0"))
summary = widgets.HTML()
map_link = widgets.HTML()
map_view = widgets.HTML(maps.to_iframe(ward_map, height=430, title="participants by ward"),
                        layout=widgets.Layout(flex="1 1 300px", min_width="0"))
chart = widgets.Image(format="png", layout=widgets.Layout(flex="1 1 340px", min_width="0",
                                                          max_width="100%",
                                                          object_fit="contain"))
cells = widgets.HTML(layout=widgets.Layout(overflow_x="auto", max_width="100%"))


@functools.lru_cache(maxsize=512)
def panel_png(ward_code, age_band, month_label):
    title = f"{ward_names_en.get(ward_code, 'Sapporo (all wards)')}, age {age_band}"
    return health.plot_ward_panel(table, ward_code=ward_code, age_band=age_band,
                                  month=month_label, title=title.replace("age All", "all ages"))


def fmt(value, unit=""):
    return ("suppressed (fewer than 10 people, or hidden to protect such a cell)"
            if value is None else f"{value:,.0f}{unit}")


def update(*_):
    numbers = health.headline(table, ward_code=ward.value, age_band=band.value,
                              month=month.value)
    summary.value = notice_html(
        f"<b>{month.value}</b>, {ward.label}, {band.label.lower()}: "
        f"<b>{fmt(numbers['participants'])}</b> enrolled participants; mean daily steps "
        f"<b>{fmt(numbers['participant_steps'])}</b> for participants and "
        f"<b>{fmt(numbers['comparison_steps'])}</b> for non-participants "
        "(synthetic data)")
    map_link.value = maps.link_state("health", f"{month.value}|{band.value}")
    chart.value = panel_png(ward.value, band.value, month.value)
    cells.value = ("<h4>People and mean daily steps by age band and status</h4>"
                   + health.table_html(health.age_band_table(table, ward_code=ward.value,
                                                             month=month.value)))


for control in (ward, band, month):
    control.observe(update, names="value")
update()
display(widgets.VBox([
    widgets.HBox([ward, band], layout=wrap), month, summary, map_link,
    widgets.HBox([map_view, chart], layout=wrap), cells,
], layout=widgets.Layout(width="100%", max_width="100%")))

# %% [markdown]
# **Reading the figures.** Participants already walked more than non-participants before
# they joined (people who are active sign up), so the gap between the two lines is *not* the
# effect of the programme; the health-points notebook estimates the effect with a
# difference-in-differences design. Months before a person's enrolment count as "before
# enrolment". Steps fall in winter for everyone. Blank bars or gaps are suppressed cells.

# %%
display(HTML(footer_html(attributions, synthetic=True)))
