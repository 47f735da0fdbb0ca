"""The Product Sales Dashboard: one self-contained HTML file built from the BI copy.

:func:`build_dashboard` reads the published BI copy (never the live warehouse) through a
read-only connection and writes one HTML file with inline CSS, inline SVG charts drawn
here in Python and a few lines of inline JavaScript (no library, no network: the page
carries a Content-Security-Policy that forbids loading anything).

Every chart is an ``<svg data-chart="<name>" data-points="<n>">`` whose ``n`` data marks
carry the class ``mark`` (with a hover tooltip). A panel whose source table is missing or
empty is drawn as a visible "Not yet available" box with ``data-missing="<name>"`` and
``data-source="<schema.table>"`` instead. The inline script checks after layout that each
chart has its marks and a non-zero size, records ``data-rendered-marks`` and
``data-rendered-size`` on it, shows the result in the footer and logs a console error
when a chart did not render (the browser test relies on that).

Columns are picked by name (extra columns are ignored), so the ML tables can grow.
No Dagster imports.
"""

from ecom_platform.lib.dashboard.page import SCRIPT, build_dashboard, expected_charts

__all__ = ["SCRIPT", "build_dashboard", "expected_charts"]
