"""Developer tools that the pipeline never runs (the code location does not import them)."""
