"""`make bench`: every `bench_*.py` module here defines `run() -> list[BenchResult]`."""
