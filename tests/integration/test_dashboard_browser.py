"""The dashboard in a real browser: headless Chromium loads the HTML file offline, runs its
inline check, and the rendered DOM is asserted on (every chart present with data and a
size, no console message at all: no script error, no blocked network request).

Needs ``/usr/bin/chromium`` (Debian's package), which ``make browser`` installs (root or
sudo). Without it the test is skipped with that advice, or fails when ECOM_REQUIRE_BROWSER
is set (``.ci/run`` sets it), so CI never passes it silently.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ecom_platform.lib.dashboard import SCRIPT, build_dashboard, expected_charts
from ecom_platform.lib.publish import publish_bi_copy
from tests.integration.conftest_bi import make_warehouse

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ML_CHARTS = {
    "churn_risk",
    "forecast_vs_actual",
    "forecast_backtest",
    "model_vs_baseline",
    "ml_segments",
    "frequently_bought_together",
    "top_recommended_products",
}


def chromium_flags(profile: Path) -> list[str]:
    return [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--mute-audio",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]


def render(html: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """(DOM after load and scripts, console messages of the page) from headless Chromium."""
    if not CHROMIUM.exists():
        advice = (
            f"{CHROMIUM} not found: the dashboard browser test needs Chromium; `make browser` installs "
            "it (Debian's package, needs root or sudo)"
        )
        if os.environ.get("ECOM_REQUIRE_BROWSER"):
            pytest.fail(advice + " (ECOM_REQUIRE_BROWSER is set)")
        pytest.skip(advice)
    profile = tmp_path / f"chromium-profile-{html.stem}"
    proc = subprocess.run(
        [*chromium_flags(profile), "--dump-dom", html.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Chromium logs every console message of the page (log, warn, error, uncaught exceptions,
    # CSP violations) as ":INFO:CONSOLE(...)" / ":CONSOLE:" lines.
    console = [line for line in proc.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]
    return proc.stdout, console


class _Charts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts: dict[str, dict[str, str]] = {}
        self.missing: dict[str, dict[str, str]] = {}
        self.body: dict[str, str] = {}
        self.external: list[str] = []
        self.status = ""
        self._in_status = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "svg" and "data-chart" in a:
            self.charts[a["data-chart"]] = a
        if "data-missing" in a:
            self.missing[a["data-missing"]] = a
        if tag == "body":
            self.body = a
        for k in ("src", "href"):
            if k in a and not a[k].startswith(("data:", "#")):
                self.external.append(f"{tag} {k}={a[k]}")
        self._in_status = a.get("id") == "render-status"

    def handle_data(self, data):
        if self._in_status:
            self.status += data

    def handle_endtag(self, tag):
        self._in_status = False


def parse(dom: str) -> _Charts:
    p = _Charts()
    p.feed(dom)
    return p


@pytest.fixture(scope="module")
def bi_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("dashboard")
    wh = make_warehouse(root / "warehouse.duckdb")
    return publish_bi_copy(wh, root / "bi", pseudonym_key="browser-test-key")


def test_every_chart_renders_with_data_and_no_console_output(bi_copy, tmp_path):
    out = tmp_path / "dashboard.html"
    built = build_dashboard(bi_copy["path"], out)
    assert set(built["charts"]) == set(expected_charts())
    assert built["missing"] == {}
    page = out.read_text()
    # Self-contained: no external resource of any kind.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page

    dom, console = render(out, tmp_path)
    assert console == [], console
    doc = parse(dom)
    assert set(doc.charts) == set(expected_charts())
    for name, a in doc.charts.items():
        points = int(a["data-points"])
        assert points > 0, name
        assert points == built["charts"][name], name
        # Set by the page's script after layout: the marks are in the DOM and the chart has a size.
        assert int(a["data-rendered-marks"]) == points, name
        w, h = (int(x) for x in a["data-rendered-size"].split("x"))
        assert w > 100 and h > 50, (name, a["data-rendered-size"])
    assert doc.missing == {}
    assert doc.body.get("data-render-ok") == "true"
    assert doc.status.startswith(f"{len(expected_charts())} of {len(expected_charts())} charts rendered")
    assert doc.external == []


def test_absent_ml_tables_show_a_visible_not_yet_available_panel(tmp_path):
    wh = make_warehouse(tmp_path / "warehouse.duckdb", with_ml=False)
    s = publish_bi_copy(wh, tmp_path / "bi")
    out = tmp_path / "dashboard.html"
    built = build_dashboard(s["path"], out)
    assert set(built["missing"]) == ML_CHARTS
    assert set(built["charts"]) == set(expected_charts()) - ML_CHARTS

    dom, console = render(out, tmp_path)
    assert console == [], console
    doc = parse(dom)
    assert set(doc.charts) == set(expected_charts()) - ML_CHARTS
    assert set(doc.missing) == ML_CHARTS
    assert doc.missing["churn_risk"]["data-source"] == "ml.churn_scores"
    assert "Not yet available: ml.churn_scores is not in the BI copy yet" in dom
    assert all(int(a["data-rendered-marks"]) == int(a["data-points"]) > 0 for a in doc.charts.values())
    assert doc.body.get("data-render-ok") == "true"
    assert f"{len(ML_CHARTS)} panel(s) not yet available" in doc.status


def test_control_console_errors_and_broken_charts_are_caught(tmp_path):
    """The detectors above can fail: a page with a script error, a blocked request and a chart
    whose marks do not match its data-points is reported."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head>"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\">"
        "</head><body><span id='render-status'></span>"
        "<svg data-chart='broken' data-points='3' viewBox='0 0 10 10'><rect class='mark' width='1' height='1'/></svg>"
        "<img src='https://example.invalid/x.png'>"
        f"<script>{SCRIPT}</script>"
        "<script>notDefined();</script></body></html>"
    )
    dom, console = render(bad, tmp_path)
    joined = "\n".join(console)
    assert "dashboard charts not rendered: broken" in joined
    assert "notDefined" in joined
    assert "Content Security Policy" in joined
    doc = parse(dom)
    assert doc.charts["broken"]["data-rendered-marks"] == "1"
    assert doc.body.get("data-render-ok") == "false"
    assert doc.external == ["img src=https://example.invalid/x.png"]


def test_ml_tables_of_other_shapes_are_drawn_or_reported_not_crashed(tmp_path):
    """Columns are picked by name: extra or alternative columns work, unusable tables are reported."""
    import duckdb

    wh = make_warehouse(tmp_path / "warehouse.duckdb", with_ml=False)
    con = duckdb.connect(str(wh))
    con.execute("CREATE SCHEMA ml")
    # Alternative names and extra columns.
    con.execute(
        "CREATE TABLE ml.churn_scores AS SELECT customer_id, recency_days / 400.0 AS probability, "
        "'x' AS extra_col FROM bi.customer_rfm"
    )
    con.execute(
        "CREATE TABLE ml.demand_forecast AS SELECT 'product:P0002' AS series_id, "
        "CAST(DATE '2024-01-01' + CAST(7 * h AS INTEGER) AS DATE) AS week_start, 50.0 + h AS yhat, "
        "42 AS something_else FROM range(6) r(h)"
    )
    # Present but empty, and present without the columns a chart needs.
    con.execute("CREATE TABLE ml.model_metrics (model VARCHAR, metric VARCHAR, value DOUBLE)")
    con.execute("CREATE TABLE ml.forecast_backtest AS SELECT 'naive' AS model, 1.0 AS score")
    con.close()
    s = publish_bi_copy(wh, tmp_path / "bi")
    built = build_dashboard(s["path"], tmp_path / "dashboard.html")
    assert built["charts"]["churn_risk"] == 10
    # Product series: actuals from bi.product_sales_weekly (52 weeks, within a year of the forecast) + 6 forecast weeks.
    assert built["charts"]["forecast_vs_actual"] == 52 + 6
    assert built["missing"]["model_vs_baseline"] == "Not yet available: ml.model_metrics has no rows yet."
    assert built["missing"]["forecast_backtest"] == "Not yet available: ml.forecast_backtest lacks column(s) mase."
    assert built["missing"]["ml_segments"].startswith("Not yet available: ml.customer_segments is not in the BI copy")
