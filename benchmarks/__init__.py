"""Benchmarks (``make bench``, ``make bench-refresh``): they run the pipeline, the pipeline never imports them."""
