"""Benchmark the running app as a user meets it: render times per page and step, and server memory.

    python tools/bench_app.py [--port 8765]

Starts `streamlit run app.py` with an empty local engine cache (so only the shipped
`assets/cache/` helps), then in headless Debian Chromium opens Home, References and every step of
every lesson in Present mode twice: the first visit is cold (fresh server: imports, Streamlit
caches empty), the second warm; each lesson is also opened in Self-paced mode (all its steps on one
page). It also times a cached interaction (the "Next" button on a
warm page). Prints one line per URL and a summary; compare with the budgets in DESIGN.md
(warm default < 2 s, cached interaction < 300 ms, heaviest cold default < 10 s, server < 600 MB).
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
FINISHED = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (Linux /proc)."""
    total = 0
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(p) for p in out]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def start_server(port: int, cache_prefix: str) -> subprocess.Popen:
    """`streamlit run app.py` on `port` with an empty local engine cache (only the shipped one helps)."""
    env = dict(os.environ, ENGINE_CACHE_DIR=tempfile.mkdtemp(prefix=cache_prefix))
    return subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless",
                             "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def settle(page, timeout=120_000):
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stElementContainer"]', timeout=timeout)
    page.wait_for_selector(FINISHED, timeout=timeout)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout)
    # elements still being delivered show as skeletons; wait until every one has been replaced
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=timeout)
    for chart in page.locator('[data-testid="stVegaLiteChart"]').all():  # charts in closed expanders stay hidden
        if chart.is_visible():  # a chart in a tab not shown draws when its tab opens
            chart.locator("canvas, svg").first.wait_for(state="attached", timeout=timeout)


def timed_visit(page, url) -> float:
    t = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    settle(page)
    return time.perf_counter() - t


def main(argv=None):
    from playwright.sync_api import sync_playwright

    from lessons import registry

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args(argv)
    port = a.port or free_port()
    server = start_server(port, "bench-cache-")
    base = f"http://localhost:{port}"
    try:
        for _ in range(120):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        paths = ["", "references"] + [e.lesson.id for e in registry.entries()] + [  # self-paced: every step
            f"{e.lesson.id}?mode=present&step={i + 1}" for e in registry.entries() for i in range(len(e.lesson.steps))]
        rows = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for path in paths:
                cold = timed_visit(page, f"{base}/{path}")
                warm = timed_visit(page, f"{base}/{path}")
                rows.append((path, cold, warm))
                print(f"/{path:<45} cold {cold:6.2f} s   warm {warm:6.2f} s", flush=True)
            clicks = []
            for e in registry.entries():  # a cached interaction: Next on warm pages
                page.goto(f"{base}/{e.lesson.id}?mode=present&step=1", wait_until="domcontentloaded")
                settle(page)
                for _ in range(min(3, len(e.lesson.steps) - 1)):
                    t = time.perf_counter()
                    page.get_by_role("button", name="Next", exact=False).first.click()
                    page.wait_for_timeout(50)
                    settle(page)
                    clicks.append(time.perf_counter() - t)
            browser.close()
        mem = rss_mb(server.pid)
        worst_cold = max(rows, key=lambda r: r[1])
        worst_warm = max(rows, key=lambda r: r[2])
        print(f"pages={len(rows)} warm_max={worst_warm[2]:.2f}s ({worst_warm[0] or 'home'}) "
              f"warm_median={sorted(r[2] for r in rows)[len(rows) // 2]:.2f}s "
              f"cold_max={worst_cold[1]:.2f}s ({worst_cold[0] or 'home'}) "
              f"next_step_median={sorted(clicks)[len(clicks) // 2] if clicks else float('nan'):.2f}s "
              f"server_rss_mb={mem:.0f}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
