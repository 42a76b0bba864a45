"""Run every benchmark one after the other and print their figures.

    python bench/run_all.py --quick     # CI-friendly sizes (a few minutes on 2 cores)
    python bench/run_all.py             # the sizes the issues ask for
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["updates.py", "broadcast.py", "reminders.py", "whatsapp_webhook.py", "certification_import.py",
           "import_lock.py"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    failed = 0
    for name in BENCHES:
        script = HERE / name
        if not script.exists():
            continue
        command = [sys.executable, "-m", f"bench.{script.stem}"] + (["--quick"] if args.quick else [])
        print(f"\n=== {name} {'--quick' if args.quick else ''}", flush=True)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=HERE.parent, check=False)
        print(f"=== {name}: exit {done.returncode} in {time.perf_counter() - start:.0f} s", flush=True)
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
