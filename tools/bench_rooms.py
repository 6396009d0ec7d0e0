"""Benchmark a room: one presenter and N followers in headless Chromium on one server.

    python tools/bench_rooms.py --followers 10 30 [--moves 5]

Starts `streamlit run app.py` (shipped cache only), opens the presenter in Present mode on Lesson 1,
opens a room, then N follower browser sessions with the join link (each its own browser context:
its own Streamlit session). The presenter presses Next `--moves` times; for each move it measures,
per follower, the time from the click until that follower's slide shows the new step's title in
its browser. The server also times, per follower, the change to the run that shows it (the
presenter view's "followed in"): on this machine the followers' browsers draw their charts on the
server's own cores, so the browser figure is mostly browser time. Prints, per N: both latencies
(median and max), the server's CPU seconds over the moves (user + system, from /proc) and its RSS.
Compare with issue #15's targets (median <= 2 s on a 2-core server with 30 followers). Numbers, not a
timed test: this machine is shared and noisy.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.bench_app import ARGS, cpu_seconds, free_port, rss_mb, settle, start_server  # noqa: E402


def run(n: int, moves: int, browser, base: str, pid: int, lesson) -> dict:
    presenter = browser.new_page(viewport={"width": 1280, "height": 720})
    presenter.goto(f"{base}/{lesson.id}?mode=present&step={lesson.steps[0].id}", wait_until="domcontentloaded")
    settle(presenter)
    # Present mode folds the sidebar: open it, then the room box
    expand = '[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button'
    presenter.locator(expand).first.click()
    presenter.locator('[data-testid="stSidebar"]').get_by_text("Class room").click()
    presenter.get_by_role("button", name="Open a room for my class").click()
    code_el = presenter.locator('[data-testid="stSidebar"] [data-testid="stCode"]')
    code_el.wait_for(timeout=60_000)
    link = code_el.inner_text().strip()  # the join link, as the presenter shows it to the class
    code = link.rsplit("=", 1)[1]
    followers = []
    for _ in range(n):
        ctx = browser.new_context(viewport={"width": 1280, "height": 720})
        ctx.set_default_timeout(180_000)
        page = ctx.new_page()
        page.goto(link, wait_until="commit")
        followers.append((ctx, page))
    for k, (_, page) in enumerate(followers):
        try:
            page.locator("h2", has_text=f"1. {lesson.steps[0].title}").wait_for(timeout=180_000)
        except Exception:
            page.screenshot(path=f"/tmp/bench_rooms_follower{k}.png")
            raise
    latencies = []
    cpu0 = cpu_seconds(pid)
    for k in range(1, moves + 1):
        want = f"{k + 1}. {lesson.steps[k].title}"
        t0 = time.perf_counter()
        presenter.get_by_role("button", name="Next").first.click()
        for _, page in followers:
            page.locator("h2", has_text=want).wait_for(timeout=120_000)
            latencies.append(time.perf_counter() - t0)  # the followers are polled in turn: an upper bound
    cpu = cpu_seconds(pid) - cpu0
    view = browser.new_page(viewport={"width": 1400, "height": 900})  # the server's own follow times
    view.goto(f"{base}/presenter?room={code}", wait_until="domcontentloaded")
    settle(view)
    values = view.locator('[data-testid="stMetricValue"]').all_inner_texts()
    server_median, server_max = values[3].strip(), values[4].strip()
    view.close()
    for ctx, _ in followers:
        ctx.close()
    presenter.close()
    return {"n": n, "median": statistics.median(latencies), "max": max(latencies), "cpu": cpu, "rss": rss_mb(pid),
            "server_median": server_median, "server_max": server_max}


def main(argv=None):
    from playwright.sync_api import sync_playwright

    from lessons.vanishing import LESSON

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--followers", type=int, nargs="+", default=[10, 30])
    ap.add_argument("--moves", type=int, default=3)
    a = ap.parse_args(argv)
    moves = max(1, min(a.moves, len(LESSON.steps) - 1))
    port = free_port()
    server = start_server(port, "bench-rooms-")
    base = f"http://localhost:{port}"
    try:
        time.sleep(4)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            warm = browser.new_page()  # the first visit pays the imports; not part of a room's cost
            warm.goto(f"{base}/{LESSON.id}?mode=present", wait_until="domcontentloaded")
            settle(warm)
            warm.close()
            for n in a.followers:
                r = run(n, moves, browser, base, server.pid, LESSON)
                print(f"followers {r['n']:3d}: the server shows them the change in median {r['server_median']}, "
                      f"slowest {r['server_max']}; drawn in their browsers in median {r['median']:.2f} s, "
                      f"max {r['max']:.2f} s; server CPU {r['cpu']:.1f} s over {moves} moves; "
                      f"RSS {r['rss']:.0f} MB", flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
