"""Run every benchmark module (or those named on the command line) and print a summary.

    python -m tests.bench                 # all
    python -m tests.bench gate queue      # bench_gate.py and bench_queue.py
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    names = argv or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    results: dict[str, dict[str, float] | str] = {}
    failed = False
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"tests.bench.bench_{name}")
            results[name] = module.run()
        except Exception as exc:
            traceback.print_exc()
            results[name] = f"FAILED: {type(exc).__name__}: {exc}"
            failed = True
        print(f"({name} took {time.perf_counter() - started:.1f} s)", flush=True)
    print("\n=== summary ===")
    for name, figures in results.items():
        if isinstance(figures, str):
            print(f"{name}: {figures}")
            continue
        for key, value in figures.items():
            print(f"{name}.{key}: {value:,.2f}" if isinstance(value, float) else
                  f"{name}.{key}: {value}")
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(
        {"machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
         "python": sys.version.split()[0], "results": results}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
