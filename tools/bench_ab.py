"""Two checkouts side by side in one run: warm Self-paced lesson pages and Present "Next" clicks.

    python tools/bench_ab.py --old ../old [--new .] [--rounds 3]

Starts `streamlit run app.py` from each checkout (each with an empty local engine cache), then in one
headless Chromium alternates between them, each going first in every other round: every lesson's
Self-paced page (median of `rounds` warm visits) and three Next clicks from the first step of every
lesson (median over all rounds; a first round only warms the caches), each timed twice: as the test
driver sees it, and inside the page (tools/bench_app.py's `DRAWN`); a Self-paced visit also by the CPU
seconds every Chromium process spent on it. On a shared, noisy machine
only a comparison made in one run is worth reporting
(tools/bench_app.py gives the full picture of one checkout).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.bench_app import (  # noqa: E402
    ARGS,
    CLICKS,
    free_port,
    processes_cpu,
    settle,
    start_server,
    stop_server,
    timed_next,
    timed_visits,
    wait_for_port,
)


def start(root: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = start_server(port, "bench-ab-", root)
    wait_for_port(port)
    return server, f"http://localhost:{port}"


def browser_cpu() -> float:
    """User + system CPU seconds so far of every Chromium process on this machine (Linux /proc): the
    browser's share of a view, which on 2 cores shared with the server is most of it."""
    def chromium(p: Path) -> bool:
        try:
            return p.name.isdigit() and any(n in (p / "comm").read_text() for n in ("chrom", "headless"))
        except OSError:
            return False
    return processes_cpu(p.name for p in Path("/proc").iterdir() if chromium(p))


def next_clicks(page, base: str, lesson_id: str, n: int) -> list[tuple[float, float]]:
    """(driver's, in-page seconds) of `n` Next clicks from a lesson's first slide."""
    page.goto(f"{base}/{lesson_id}?mode=present&step=1", wait_until="domcontentloaded")
    settle(page)
    times = []
    for k in range(n):
        page.wait_for_timeout(300)
        times.append(timed_next(page, k + 2))
    return times


def main(argv=None):
    from playwright.sync_api import sync_playwright

    from lessons import registry

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", type=Path, required=True, help="the other checkout (e.g. a git worktree)")
    ap.add_argument("--new", type=Path, default=ROOT)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args(argv)
    trees = {"old": a.old.resolve(), "new": a.new.resolve()}
    lessons = [e.lesson for e in registry.entries()]
    servers = {k: start(root) for k, root in trees.items()}
    pages = {k: {lesson.id: [] for lesson in lessons} for k in trees}
    clicks = {k: [] for k in trees}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script(CLICKS)
            for r in range(a.rounds + 1):  # round 0 warms each server's caches
                for lesson in lessons:
                    order = list(servers.items())
                    for k, (_, base) in order if r % 2 else order[::-1]:  # neither always goes first
                        cpu = browser_cpu()
                        t = (*timed_visits(page, f"{base}/{lesson.id}"), browser_cpu() - cpu)
                        c = next_clicks(page, base, lesson.id, min(3, len(lesson.steps) - 1))
                        if r:
                            pages[k][lesson.id].append(t)
                            clicks[k] += c
            browser.close()
        for way, j in (("the driver's wall clock", 0), ("in the page", 1), ("the browser's CPU", 2)):
            print(f"{'Self-paced, warm (median), ' + way:<48}" + "".join(
                f"{k} ({trees[k].name})".rjust(24) for k in trees))
            for lesson in lessons:
                print(f"  lesson {lesson.number} {lesson.id:<38}" + "".join(
                    f"{statistics.median(t[j] for t in pages[k][lesson.id]):22.2f} s" for k in trees))
            if j == 2:
                continue
            print(f"{'Next click (median of ' + str(len(clicks['new'])) + '), ' + way:<48}" + "".join(
                f"{statistics.median(c[j] for c in clicks[k]):22.2f} s" for k in trees))
    finally:
        for server, _ in servers.values():
            stop_server(server)


if __name__ == "__main__":
    main()
