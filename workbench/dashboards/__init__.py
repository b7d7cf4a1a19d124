"""The public Voilà dashboards: the server launcher and the views the notebooks use.

- :func:`serve_dashboards` starts Voilà over ``dashboards/`` (see ``_server``);
- :mod:`workbench.dashboards.health`, ``.policy``, ``.walkability`` hold each dashboard's
  views as plain functions over frames (tested without a browser), so the notebooks only
  load data, lay out widgets and wire callbacks.
"""

from workbench.dashboards._kit import (
    figure_png,
    footer_html,
    notice_html,
    product_attributions,
    public_exchange,
)
from workbench.dashboards._server import (
    TEMPLATE_NAME,
    serve_dashboards,
    voila_command,
    voila_environment,
)
from workbench.dashboards._wards import load_wards

__all__ = [
    "TEMPLATE_NAME",
    "figure_png",
    "footer_html",
    "load_wards",
    "notice_html",
    "product_attributions",
    "public_exchange",
    "serve_dashboards",
    "voila_command",
    "voila_environment",
]
