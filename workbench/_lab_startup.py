"""Run at the start of every kernel of ``workbench lab`` (via ``PYTHONSTARTUP``).

Imports the workbench so that folium maps and ``GeoDataFrame.explore()`` load the vendored
Leaflet instead of a CDN even before the notebook imports it (ADR 0150), then runs the
user's own ``PYTHONSTARTUP`` file, if there was one.
"""

import os

import workbench  # noqa: F401  (installs the offline folium patch)

_user_startup = os.environ.get("WORKBENCH_USER_PYTHONSTARTUP")
if _user_startup and os.path.isfile(_user_startup):
    with open(_user_startup, encoding="utf-8") as _f:
        exec(compile(_f.read(), _user_startup, "exec"))
