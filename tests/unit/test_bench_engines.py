"""`make bench` across engines (benchmarks/engines.py) and how its memory monitor counts the JVM,
from fabricated pipeline results and process facts: no run, no timing."""

from benchmarks import bench


def test_a_child_between_fork_and_exec_is_not_counted_twice(monkeypatch):
    monkeypatch.setattr(bench, "_thread_names", lambda pid: {"java", "Thread-36", "Executor task"})
    jvm = (10, "java", "/usr/lib/jvm/bin/java")
    assert bench._spawning("Thread-36", "/usr/lib/jvm/bin/java", jvm) is True
    # the program it became, and the JVM itself: counted
    assert bench._spawning("chmod", "/usr/bin/chmod", jvm) is False
    assert bench._spawning("java", "/usr/lib/jvm/bin/java", jvm) is False
    monkeypatch.setattr(bench, "_thread_names", lambda pid: {"python"})
    python = (5, "python", "/usr/bin/python3.11")
    # dbt is a script run by the same interpreter under its own name; no parent: the child itself
    assert bench._spawning("dbt", "/usr/bin/python3.11", python) is False
    assert bench._spawning("python", "/usr/bin/python3.11", None) is False
