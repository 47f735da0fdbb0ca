"""The Product Sales Dashboard: one self-contained HTML file built from the BI copy.

:func:`build_dashboard` reads the published BI copy (never the live warehouse) through a
read-only connection, collects each panel's data (:mod:`.data`, one query per panel; the
sales cube whole, so the page filters it in the browser) and writes one HTML file: inline
CSS, the data as inline JSON, plotly.js from the ``plotly`` package and the page's own
scripts (``static/``). Nothing is loaded from the network; the page's
Content-Security-Policy forbids it.

Every chart is a ``<div data-chart="<name>">``; after drawing, the page sets
``data-points`` (the data points drawn) and ``data-rendered``. A panel without data is a
``<section data-missing="<name>">`` that gives the reason: the model that did not
publish and why, the optional file that has not landed, or the table not there yet. KPI
cards carry their raw value in ``data-value``; the browser test reads these.
No Dagster imports.
"""

from ecom_platform.lib.dashboard.page import build_dashboard, expected_charts

__all__ = ["build_dashboard", "expected_charts"]
