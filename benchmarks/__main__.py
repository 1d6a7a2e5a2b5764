"""Run every benchmark module and print BENCH lines. `python -m benchmarks [NAME ...]`."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import benchmarks


def main(selected: list[str]) -> int:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(benchmarks.__file__).parent)])
        if info.name.startswith("bench_")
    )
    if selected:
        names = [name for name in names if any(word in name for word in selected)]
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        for result in module.run():
            print(result.line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
