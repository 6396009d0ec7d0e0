"""Benchmark the running app as a user meets it: render times, server CPU and memory, bytes, a class.

    python tools/bench_app.py [--port 8765] [--class-sizes 1 10 20] [--no-bytes]

Starts `streamlit run app.py` with an empty local engine cache (so only the shipped
`assets/cache/` helps), then in headless Debian Chromium opens Home, References and every step of
every lesson in Present mode twice: the first visit is cold (fresh server: imports, Streamlit
caches empty), the second warm; each lesson is also opened in Self-paced mode (its first steps
drawn; then it times drawing every step and demo with the Contents switch). It times a cached
interaction (the "Next" button on a warm page) and measures the server's CPU seconds (user +
system, /proc) for each warm view. Then a class: K browser sessions open the
same warm step at once; it reports the server CPU seconds they cost and the slowest one's time.
Last, per lesson, the bytes its charts and tables send (tools/bench_bytes.py). Prints one line per
URL, a summary per lesson and overall (a Next click also split into when its last WebSocket frame
arrived); compare with issue #12's targets and DESIGN.md's budgets
(warm default < 2 s, cached interaction < 300 ms, heaviest cold default < 10 s, server < 600 MB).
Every view and Next click is timed twice: as the test driver (Playwright) sees it, from asking for
the page or pressing the button until `settle` returns, and inside the page, by the page's own clock,
from the navigation's start or the pointer going down to the first frame at which the script has
finished and every shown chart has drawn (`DRAWN`). The driver's figure adds its own round trips
(a `settle` is four waits and two per chart, each a message to the browser and back); the page's
is what the person at the screen waits.
Figures, not a timed test: this machine is shared and noisy.
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
# The same test as `settle`, made inside the page on every animation frame: the page's own clock
# (ms since the navigation began) when the script has finished and every shown chart has drawn, or
# false. `heading`: also wait for a slide's heading to have this id (a Next click's new step).
DRAWN = """(heading) => {
  if (heading && document.querySelector('[data-testid="stMain"] h2')?.id !== heading) return false;
  if (!document.querySelector('[data-testid="stMain"] [data-testid="stElementContainer"]')) return false;
  if (!document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')) return false;
  if (document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]')) return false;
  for (const c of document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
    if (c.checkVisibility() && !c.querySelector('canvas, svg')) return false;
  return performance.now();
}"""
# The page's clock when a pointer last went down (set on every document the benchmark opens).
CLICKS = "document.addEventListener('pointerdown', () => { window.__benchClick = performance.now(); }, true);"


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far (Linux /proc)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return processes_cpu([pid, *(int(p) for p in out)])


def processes_cpu(pids) -> float:
    """User + system CPU seconds so far of the processes `pids` (Linux /proc; gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def start_server(port: int, cache_prefix: str, root: Path = ROOT) -> subprocess.Popen:
    """`streamlit run app.py` of the checkout at `root` on `port` with an empty local engine cache
    (only the shipped one helps)."""
    env = dict(os.environ, ENGINE_CACHE_DIR=tempfile.mkdtemp(prefix=cache_prefix))
    return subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(root / "app.py"), "--server.headless",
                             "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def wait_for_port(port: int, tries: int = 240) -> None:
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)


def settle(page, timeout=120_000):
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stElementContainer"]', timeout=timeout)
    page.wait_for_selector(FINISHED, timeout=timeout)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout)
    # elements still being delivered show as skeletons; wait until every one has been replaced
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=timeout)
    for chart in page.locator('[data-testid="stVegaLiteChart"]').all():  # charts in closed expanders stay hidden
        if chart.is_visible():  # a chart in a tab not shown draws when its tab opens
            chart.locator("canvas, svg").first.wait_for(state="attached", timeout=timeout)


def drawn_at(page, heading: str | None = None, timeout=120_000) -> float:
    """The page's clock (s) when `DRAWN` first held, checked by the page itself on every frame: no
    round trips of the test driver (each `settle` wait is one, a chart two) fall inside the time."""
    return page.wait_for_function(DRAWN, arg=heading, polling="raf", timeout=timeout).json_value() / 1000


def timed_visits(page, url) -> tuple[float, float]:
    """(the driver's seconds until `settle` returns, the page's own seconds from the navigation's start
    to every chart drawn)."""
    t = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    in_page = drawn_at(page)
    settle(page)
    return time.perf_counter() - t, in_page


def timed_next(page, step: int) -> tuple[float, float]:
    """Press a slide's Next (its arrow beside the sidebar) and wait for slide `step` (1-based) drawn:
    (the driver's seconds, the page's own from the pointer going down to the last chart drawn)."""
    t = time.perf_counter()
    page.locator("[class*=__next_top] button").first.click()
    done = drawn_at(page, f"step-{step}")
    settle(page)
    return time.perf_counter() - t, done - page.evaluate("window.__benchClick") / 1000


def every_step(page) -> float:
    """On a Self-paced page: seconds from switching on "Draw every step and demo now" (in Contents)
    until the whole lesson, every demo included, is drawn."""
    switch = page.locator('[class*="__every_demo"]')
    page.locator('[data-testid="stExpander"]', has=switch).locator("summary").first.click()  # Contents
    t = time.perf_counter()
    page.locator('[class*="__every_demo"] label').first.click()
    # the run has begun only once the page changes: with every step drawn, "Continue" is gone (settling
    # on the script state alone could end before the run started, and time nothing)
    page.wait_for_selector('[class*="__read_on"]', state="detached", timeout=120_000)
    settle(page)
    return time.perf_counter() - t


def class_opens(browser, base: str, path: str, k: int, pid: int) -> tuple[float, float]:
    """K browser sessions (each its own context, so its own Streamlit session) open `path` at once:
    (server CPU seconds they cost, seconds until the slowest has every chart drawn)."""
    contexts = [browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(k)]
    pages = [c.new_page() for c in contexts]
    cpu0, t = cpu_seconds(pid), time.perf_counter()
    for pg in pages:  # all requests go out before any page is waited on
        pg.goto(f"{base}/{path}", wait_until="commit")
    for pg in pages:
        settle(pg, timeout=300_000)
    slowest = time.perf_counter() - t
    cpu = cpu_seconds(pid) - cpu0
    for c in contexts:
        c.close()
    return cpu, slowest


def _median(xs) -> float:
    return sorted(xs)[len(xs) // 2] if xs else float("nan")


def lesson_sizes(entries) -> dict[str, int]:
    """{lesson id: bytes its charts and tables send} (tools/bench_bytes.py's AppTest measurement)."""
    from tools.bench_bytes import lesson_bytes

    return {e.lesson.id: sum(lesson_bytes(e).values()) for e in entries}


def main(argv=None):
    from playwright.sync_api import sync_playwright

    from lessons import registry

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--class-sizes", type=int, nargs="*", default=[1, 10, 20],
                    help="K browser sessions opening one step at once")
    ap.add_argument("--no-bytes", action="store_true", help="skip the per-lesson bytes (AppTest, ~2 min)")
    a = ap.parse_args(argv)
    port = a.port or free_port()
    server = start_server(port, "bench-cache-")
    base = f"http://localhost:{port}"
    try:
        wait_for_port(port)
        paths = ["", "references"] + [e.lesson.id for e in registry.entries()] + [  # self-paced: every step
            f"{e.lesson.id}?mode=present&step={i + 1}" for e in registry.entries() for i in range(len(e.lesson.steps))]
        rows, lesson_ids = [], {e.lesson.id for e in registry.entries()}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script(CLICKS)
            for path in paths:
                cold, _ = timed_visits(page, f"{base}/{path}")
                cpu0 = cpu_seconds(server.pid)
                warm, in_page = timed_visits(page, f"{base}/{path}")
                cpu = cpu_seconds(server.pid) - cpu0
                whole = every_step(page) if path in lesson_ids else float("nan")
                rows.append((path, cold, warm, cpu, whole, in_page))
                print(f"/{path:<45} cold {cold:6.2f} s   warm {warm:6.2f} s (in the page {in_page:5.2f} s)"
                      f"   server CPU {cpu:5.2f} s"
                      + (f"   every step drawn after {whole:5.2f} s more" if path in lesson_ids else ""), flush=True)
            clicks, in_page_clicks, frames, last_frames = [], [], [], []
            page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(time.perf_counter())))
            for e in registry.entries():  # a cached interaction: Next on warm pages
                page.goto(f"{base}/{e.lesson.id}?mode=present&step=1", wait_until="domcontentloaded")
                settle(page)
                for n in range(min(3, len(e.lesson.steps) - 1)):
                    page.wait_for_timeout(300)
                    frames.clear()
                    t = time.perf_counter()
                    wall, in_page = timed_next(page, n + 2)
                    clicks.append(wall)
                    in_page_clicks.append(in_page)
                    if frames:
                        last_frames.append(frames[-1] - t)  # the server's last delta of the run arrived
            mem = rss_mb(server.pid)  # after every page twice (cold, then warm)
            step = f"{registry.entries()[0].lesson.id}?mode=present&step=playground"
            klass = [(k, *class_opens(browser, base, step, k, server.pid)) for k in a.class_sizes]
            browser.close()
        lessons = {e.lesson.id: e for e in registry.entries()}
        sizes = {} if a.no_bytes else lesson_sizes(registry.entries())
        print("\nper lesson: Self-paced warm (s; then every step drawn, s more), Present steps warm median (s), "
              "server CPU per warm view (s), KB sent")
        for lid, e in lessons.items():
            own = [r for r in rows if r[0] == lid]
            steps = [r for r in rows if r[0].startswith(f"{lid}?")]
            med = _median([r[2] for r in steps])
            cpu = _median([r[3] for r in steps])
            kb = f"{sizes[lid] / 1000:6.1f}" if lid in sizes else "   n/a"
            print(f"  lesson {e.lesson.number} {lid:<22} self-paced {own[0][2]:5.2f} (+{own[0][4]:5.2f})"
                  f" in the page {own[0][5]:5.2f}   step median {med:5.2f} (in the page "
                  f"{_median([r[5] for r in steps]):5.2f})   CPU/view {cpu:5.2f}   {kb} KB")
        for k, cpu, slowest in klass:
            print(f"class of {k:>2} opening one warm step at once: server CPU {cpu:6.2f} s, slowest {slowest:6.2f} s")
        worst_cold = max(rows, key=lambda r: r[1])
        worst_warm = max(rows, key=lambda r: r[2])
        print(f"pages={len(rows)} warm_max={worst_warm[2]:.2f}s ({worst_warm[0] or 'home'}) "
              f"warm_median={sorted(r[2] for r in rows)[len(rows) // 2]:.2f}s "
              f"cold_max={worst_cold[1]:.2f}s ({worst_cold[0] or 'home'}) "
              f"next_step_median={_median(clicks):.2f}s (in the page {_median(in_page_clicks):.2f}s; "
              f"last frame {_median(last_frames):.2f}s) "
              f"server_cpu_per_warm_view_median={sorted(r[3] for r in rows)[len(rows) // 2]:.2f}s "
              f"server_rss_mb={mem:.0f}")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
