"""The landing sensor's pure decisions (ecom_platform.lib.landing_watch)."""

from __future__ import annotations

import hashlib
import json

from ecom_platform.lib import landing_watch as lw


def _stat(rel, size=10, mtime=1):
    return lw.FileStat(rel=rel, source=rel.split("/")[0], size=size, mtime_ns=mtime)


def _hasher(contents: dict[str, str]):
    return lambda rel: hashlib.sha256(contents[rel].encode()).hexdigest()


def _days(mapping: dict[str, list[str]]):
    return lambda rel, source: mapping.get(rel)


def test_a_file_is_ready_only_after_two_equal_looks():
    listing = [_stat("events/a.csv")]
    first = lw.decide(None, listing, _hasher({"events/a.csv": "x"}), _days({"events/a.csv": ["2024-01-02"]}))
    assert first.ready == [] and first.run_key is None
    assert first.waiting == ["events/a.csv"]
    assert "not yet stable" in first.skip_reason and "events/a.csv" in first.skip_reason
    assert json.loads(first.cursor)["looks"] == {"events/a.csv": [10, 1]}

    second = lw.decide(first.cursor, listing, _hasher({"events/a.csv": "x"}), _days({"events/a.csv": ["2024-01-02"]}))
    sha = hashlib.sha256(b"x").hexdigest()
    assert second.files == ["events/a.csv"]
    assert second.run_key == f"events/a.csv@{sha}"
    assert second.days == ["2024-01-02"]
    cursor = json.loads(second.cursor)
    assert cursor["files"]["events/a.csv"] == {
        "source": "events",
        "size": 10,
        "mtime_ns": 1,
        "sha256": sha,
        "days": ["2024-01-02"],
    }
    assert cursor["looks"] == {}

    third = lw.decide(second.cursor, listing, _hasher({"events/a.csv": "x"}))
    assert third.ready == [] and third.skip_reason == "nothing new in the landing folder (1 file(s) already taken)"
    assert third.cursor == second.cursor


def test_a_growing_file_is_never_picked_up():
    cursor = None
    for size in (10, 20, 30, 40):
        d = lw.decide(cursor, [_stat("transactions/big.csv", size=size, mtime=size)], _hasher({}))
        assert d.ready == [] and d.waiting == ["transactions/big.csv"]
        cursor = d.cursor
    assert json.loads(cursor)["looks"] == {"transactions/big.csv": [40, 40]}


def test_a_changed_file_is_taken_again_with_the_days_of_both_versions():
    files = {"transactions/t.csv": "v1"}
    days = {"transactions/t.csv": ["2024-01-01", "2024-01-02"]}
    listing = [_stat("transactions/t.csv", size=2, mtime=1)]
    c = lw.decide(None, listing, _hasher(files), _days(days)).cursor
    taken = lw.decide(c, listing, _hasher(files), _days(days))
    assert taken.files == ["transactions/t.csv"]

    files["transactions/t.csv"] = "v2!"
    days["transactions/t.csv"] = ["2024-01-02", "2024-01-03"]
    listing = [_stat("transactions/t.csv", size=3, mtime=2)]
    look = lw.decide(taken.cursor, listing, _hasher(files), _days(days))
    assert look.ready == [] and look.waiting == ["transactions/t.csv"]
    # the committed version stays in the cursor until the change is taken
    assert json.loads(look.cursor)["files"]["transactions/t.csv"]["sha256"] == hashlib.sha256(b"v1").hexdigest()
    changed = lw.decide(look.cursor, listing, _hasher(files), _days(days))
    (ready,) = changed.ready
    assert ready.changed and ready.previous_days == ("2024-01-01", "2024-01-02")
    assert changed.days == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert changed.run_key == f"transactions/t.csv@{hashlib.sha256(b'v2!').hexdigest()}"


def test_touched_but_same_bytes_requests_nothing():
    files = {"products/p.csv": "same"}
    c = lw.decide(None, [_stat("products/p.csv", mtime=1)], _hasher(files)).cursor
    c = lw.decide(c, [_stat("products/p.csv", mtime=1)], _hasher(files)).cursor
    c = lw.decide(c, [_stat("products/p.csv", mtime=5)], _hasher(files)).cursor
    touched = lw.decide(c, [_stat("products/p.csv", mtime=5)], _hasher(files))
    assert touched.ready == [] and touched.touched == ["products/p.csv"]
    assert "touched but unchanged" in touched.skip_reason
    assert json.loads(touched.cursor)["files"]["products/p.csv"]["mtime_ns"] == 5


def test_many_files_are_one_batch_with_a_deterministic_key_and_the_rest_wait():
    names = [f"events/{i}.csv" for i in range(5)]
    files = {n: n for n in names}
    listing = [_stat(n) for n in names]
    c = lw.decide(None, listing, _hasher(files)).cursor
    d = lw.decide(c, listing, _hasher(files), max_files=3)
    assert d.files == names[:3] and d.deferred == names[3:]
    pairs = sorted((n, hashlib.sha256(n.encode()).hexdigest()) for n in names[:3])
    expected = hashlib.sha256("\n".join(f"{r}\t{s}" for r, s in pairs).encode()).hexdigest()
    assert d.run_key == f"batch@{expected}"
    # same input, same key, whatever the listing order
    again = lw.decide(c, list(reversed(listing)), _hasher(files), max_files=3)
    assert again.run_key == d.run_key
    rest = lw.decide(d.cursor, listing, _hasher(files), max_files=3)
    assert rest.files == names[3:]


def test_unknown_days_and_unreadable_files():
    listing = [_stat("events/e.csv"), _stat("events/locked.csv")]

    def hasher(rel):
        if rel == "events/locked.csv":
            raise OSError("locked")
        return "h"

    c = lw.decide(None, listing, hasher).cursor
    d = lw.decide(c, listing, hasher, file_days=lambda rel, source: None)
    assert d.files == ["events/e.csv"] and d.days_unknown == ["events/e.csv"]
    assert d.unreadable == ["events/locked.csv"]
    # an unreadable file starts its two looks again
    assert "events/locked.csv" not in json.loads(d.cursor)["files"]


def test_cursor_garbage_starts_afresh_and_gone_files_are_forgotten():
    assert lw.load_cursor("not json") == lw.empty_cursor()
    assert lw.load_cursor(json.dumps({"v": 99, "files": {"a": {}}})) == lw.empty_cursor()
    files = {"customers/c.csv": "c"}
    c = lw.decide(None, [_stat("customers/c.csv")], _hasher(files)).cursor
    c = lw.decide(c, [_stat("customers/c.csv")], _hasher(files)).cursor
    gone = lw.decide(c, [], _hasher(files))
    assert gone.forgotten == ["customers/c.csv"] and json.loads(gone.cursor)["files"] == {}
    assert "gone from the folder" in gone.skip_reason
