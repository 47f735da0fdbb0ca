"""BI readers and the pipeline writer at the same time, in separate processes (publish level).

The issue's acceptance test with a real full materialization of every asset is
``test_bi_reader_during_full_run.py``. This file drives ``publish_bi_copy`` directly, which
lets it do in seconds what a full run cannot: six publishes in a row, pruning, a long
session that outlives them, and a negative control.

A writer process rebuilds the live warehouse's bi tables and republishes the BI copy
several times (what a full materialization does at its end); a reader process meanwhile
queries the stable BI path in a loop with ``read_only=True`` (a fresh connection per
query batch, as a BI tool does) and also keeps one connection open for the whole test
(a long dashboard session). Expected: no reader error, no writer failure, every read
consistent within its version, readers see several versions, and the long session keeps
reading its original version while that version is kept from pruning.

A control runs the same processes with the anti-pattern (the writer writes the file the BI
session reads): the writer is locked out, which shows the harness detects failures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecom_platform.config import REPO_ROOT
from ecom_platform.lib.publish import publish_bi_copy, stable_path
from tests.integration.conftest_bi import make_warehouse

pytestmark = [pytest.mark.integration]

PUBLISHES = 6

# Version k of the live data: sales_daily has 100 + 10k days whose net_units are all k and
# whose revenue sums to the total; rfm_segments' total_net_revenue sums to the same total
# and its customers column is k. A torn or mixed read would break one of these equalities.
WRITE_VERSION = """
def write_version(con, k):
    con.execute("BEGIN")
    con.execute("DELETE FROM bi.sales_daily")
    con.execute('''
        INSERT INTO bi.sales_daily
        SELECT CAST(DATE '2023-01-01' + CAST(i AS INTEGER) AS DATE), 20230101 + i, false, false,
               CAST(k * 100 + i AS DECIMAL(18, 2)), CAST(k * 100 + i AS DECIMAL(18, 2)), 0, 10, 0, k, 5, 1, 0.0
        FROM range(100 + 10 * ?) r(i), (SELECT ? AS k)''', [k, k])
    con.execute("DELETE FROM bi.rfm_segments")
    con.execute('''
        INSERT INTO bi.rfm_segments
        SELECT 'segment ' || s, ?, 0.1, 1.0, 1.0, 0, CASE WHEN s = 0 THEN total ELSE 0 END
        FROM range(4) r(s),
             (SELECT sum(net_revenue) AS total FROM bi.sales_daily)''', [k])
    con.execute("COMMIT")
"""

WRITER = """
import json, sys, time, traceback
import duckdb
from ecom_platform.lib.publish import publish_bi_copy
{write_version}
wh, bi_dir, n, out, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
report = {{"published": [], "kept_in_use": [], "pruned": [], "failures": []}}
for k in range(2, n + 2):
    try:
        if mode == "naive_in_place":
            # The anti-pattern this design avoids: the pipeline writes the very file BI tools read.
            con = duckdb.connect(bi_dir + "/ecom_bi.duckdb")
            write_version(con, k)
            con.close()
        else:
            con = duckdb.connect(wh)            # the single writer of the live warehouse
            write_version(con, k)
            con.close()
            s = publish_bi_copy(wh, bi_dir, keep=3)
            report["published"].append(s["version"])
            report["kept_in_use"] += s["kept_in_use"]
            report["pruned"] += s["pruned"]
    except Exception:
        report["failures"].append(traceback.format_exc())
    time.sleep(0.15)
json.dump(report, open(out, "w"))
"""

# Only duckdb: what any BI client has. Never imports the project.
READER = """
import json, sys, time, os
import duckdb
path, stop, out, deadline = sys.argv[1], sys.argv[2], sys.argv[3], time.time() + float(sys.argv[4])

def read(con):
    con.execute("BEGIN TRANSACTION")
    version = con.execute("SELECT version FROM meta.publish_info").fetchone()[0]
    n, total, ks = con.execute(
        "SELECT count(*), sum(net_revenue), list(DISTINCT net_units) FROM bi.sales_daily").fetchone()
    seg_total, seg_ks = con.execute(
        "SELECT sum(total_net_revenue), list(DISTINCT customers) FROM bi.rfm_segments").fetchone()
    meta_n = con.execute(
        "SELECT row_count FROM meta.tables WHERE table_schema = 'bi' AND table_name = 'sales_daily'").fetchone()[0]
    con.execute("COMMIT")
    problems = []
    if len(ks) != 1 or seg_ks != ks:
        problems.append(f"mixed versions: sales_daily k={{ks}} rfm_segments k={{seg_ks}}")
    else:
        k = ks[0]
        if n != 100 + 10 * k:
            problems.append(f"sales_daily has {{n}} rows, version k={{k}} has {{100 + 10 * k}}")
        if total != sum(k * 100 + i for i in range(n)):
            problems.append(f"sales_daily revenue {{total}} inconsistent for k={{k}}")
    if seg_total != total:
        problems.append(f"rfm_segments total {{seg_total}} != sales_daily total {{total}}")
    if meta_n != n:
        problems.append(f"meta.tables says {{meta_n}} rows, table has {{n}}")
    return version, (ks[0] if len(ks) == 1 else None), problems

report = {{"reads": 0, "errors": [], "inconsistent": [], "versions": [], "session": []}}
session = duckdb.connect(path, read_only=True)      # a long BI session
first_version, first_k, p = read(session)
report["session_version"] = first_version
report["inconsistent"] += p
while time.time() < deadline and not os.path.exists(stop):
    try:
        con = duckdb.connect(path, read_only=True)   # a fresh query, as a BI tool does
        version, k, problems = read(con)
        con.close()
        report["reads"] += 1
        if version not in report["versions"]:
            report["versions"].append(version)
        report["inconsistent"] += problems
        sv, sk, sp = read(session)
        report["inconsistent"] += sp
        if sv != first_version or sk != first_k:
            report["session"].append(f"long session moved from {{first_version}} to {{sv}}")
    except Exception as e:
        report["errors"].append(f"{{type(e).__name__}}: {{e}}")
    time.sleep(0.01)
session.close()
json.dump(report, open(out, "w"))
"""


def _run(script: str, *args: str, cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def live(tmp_path):
    """A live warehouse at version k=1 and its first published BI copy."""
    import duckdb

    wh = make_warehouse(tmp_path / "dev" / "warehouse.duckdb", with_ml=False)
    ns: dict = {}
    exec(WRITE_VERSION, ns)
    con = duckdb.connect(str(wh))
    ns["write_version"](con, 1)
    con.close()
    bi_dir = tmp_path / "dev" / "bi"
    return wh, bi_dir, publish_bi_copy(wh, bi_dir, keep=3)


def _race(tmp_path: Path, wh: Path, bi_dir: Path, mode: str) -> tuple[dict, dict]:
    """Run the reader and the writer processes against each other; return their reports."""
    stop = tmp_path / "stop"
    reader = _run(
        READER.format(), str(stable_path(bi_dir)), str(stop), str(tmp_path / "reader.json"), "45", cwd=tmp_path
    )
    time.sleep(0.8)  # the reader is up and reading version 1
    writer = _run(
        WRITER.format(write_version=WRITE_VERSION),
        str(wh),
        str(bi_dir),
        str(PUBLISHES),
        str(tmp_path / "writer.json"),
        mode,
        cwd=tmp_path,
    )
    try:
        _, w_err = writer.communicate(timeout=50)
        time.sleep(0.5)  # a few more reads of the final state
        stop.touch()
        _, r_err = reader.communicate(timeout=20)
    finally:
        for p in (writer, reader):
            if p.poll() is None:
                p.kill()
    assert writer.returncode == 0, w_err
    assert reader.returncode == 0, r_err
    return (json.loads((tmp_path / "writer.json").read_text()), json.loads((tmp_path / "reader.json").read_text()))


def test_readers_never_see_a_partial_or_mixed_copy_while_the_pipeline_republishes(tmp_path, live):
    t0 = time.monotonic()
    wh, bi_dir, first = live
    w, r = _race(tmp_path, wh, bi_dir, "atomic_publish")

    assert w["failures"] == []
    assert len(w["published"]) == PUBLISHES
    assert r["errors"] == []
    assert r["inconsistent"] == []
    assert r["session"] == []
    assert r["reads"] >= 20
    assert r["session_version"] == first["version"]
    # The reader saw the swaps happen: several versions, in publishing order, ending at the last.
    assert len(r["versions"]) >= 3
    assert r["versions"] == sorted(r["versions"])
    assert r["versions"][-1] == w["published"][-1]
    # The long session's version outlived pruning (keep=3) because it was still open...
    assert first["version"] in w["kept_in_use"]
    assert first["version"] not in w["pruned"]
    # ...and the versions nobody held were pruned.
    assert w["pruned"]
    assert time.monotonic() - t0 < 60


def test_control_writing_the_file_bi_reads_fails(tmp_path, live):
    """Negative control for the harness: without the copy, a BI session blocks the pipeline."""
    wh, bi_dir, _ = live
    w, r = _race(tmp_path, wh, bi_dir, "naive_in_place")
    assert len(w["failures"]) == PUBLISHES, "the writer should have been locked out by the BI session"
    assert all("Could not set lock" in f for f in w["failures"]), w["failures"][0]
