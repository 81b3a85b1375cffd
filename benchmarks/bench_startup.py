"""Start-up: ``newsbot match`` on the sample document against the bare imports of the design card.

usage: python benchmarks/bench_startup.py [--repeat 5]

The baseline, measured in the same run: a fresh interpreter that imports python-telegram-bot
(with ``telegram.ext``), httpx, feedparser and APScheduler's asyncio scheduler, and nothing
else. Then ``newsbot match config/documents/<sample>.txt``: a fresh process that reads the
shipped config and topics, builds the matcher and matches the document (what a user waits for
when they try a topic). Best of ``--repeat`` runs each: wall time and peak RSS. Target (exit 1 if
missed): newsbot's at most twice the baseline's wall time.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARE = "import telegram, telegram.ext, httpx, feedparser, apscheduler.schedulers.asyncio"


def best_of(command: list[str], repeat: int) -> tuple[float, float]:
    """(best wall seconds, peak RSS MB of the largest child so far)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        best = min(best, time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return best, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sample = sorted((ROOT / "config" / "documents").glob("*.txt"))[0]
    bare, bare_mb = best_of([sys.executable, "-c", BARE], args.repeat)
    newsbot = Path(sys.executable).with_name("newsbot")
    command = [str(newsbot)] if newsbot.exists() else [sys.executable, "-m", "bot"]
    match, match_mb = best_of([*command, "match", str(sample)], args.repeat)
    print(f"{'':<34} {'wall s':>7} {'peak RSS MB':>12}")
    print(f"{'bare imports (baseline)':<34} {bare:>7.2f} {bare_mb:>12.0f}")
    print(f"{'newsbot match ' + sample.name[:16] + '…':<34} {match:>7.2f} {match_mb:>12.0f}")
    ratio = match / bare
    print(f"ratio {ratio:.2f} (target <= 2): {'met' if ratio <= 2 else 'missed'}")
    return 0 if ratio <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
