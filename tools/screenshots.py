"""Regenerate the README's screenshots: start the app, open pages in headless Debian Chromium, and
write assets/screenshots/*.png once each page has finished rendering.

usage: python tools/screenshots.py [OUT_DIR]
Needs requirements-dev.txt and /usr/bin/chromium (apt-get install -y chromium); never run
`playwright install`. Each registered lesson is shot at its SHOWCASE step in Present mode.
"""
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lessons import registry  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


# the step of each lesson that shows it best in one picture (Present mode), by id; others use their second
SHOWCASE = {"vanishing_gradients": "playground", "relu_family": "dying", "losses": "descent", "optimizers": "race",
            "overfitting": "capacity", "regularization": "l2"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(180):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("streamlit did not start")


def shoot(page, url: str, png: Path) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=120_000)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
    # elements still being delivered show as skeletons; wait until every one has been replaced
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=120_000)
    for chart in page.locator('[data-testid="stVegaLiteChart"]').all():
        if chart.is_visible():  # a chart in a tab not shown draws when its tab opens
            chart.locator("canvas, svg").first.wait_for(state="attached", timeout=60_000)
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    if charts.count() and "mode=present" not in url:  # a self-paced lesson: scroll its first demo into view
        # (a Present-mode slide starts with its demo; the narrative is in its speaker notes)
        charts.first.evaluate("""el => { el.scrollIntoView({block: 'start'});
            let p = el.parentElement;  // Streamlit scrolls inside its main container, not the window
            while (p && p.scrollHeight <= p.clientHeight) p = p.parentElement;
            if (p) p.scrollTop -= 330; }""")
    page.wait_for_timeout(800)
    page.screenshot(path=str(png))
    print(png.relative_to(ROOT) if png.is_relative_to(ROOT) else png, flush=True)


def main() -> None:
    from playwright.sync_api import sync_playwright

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "assets" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    paths = ["", "references", "glossary", "field_guide"]
    for e in registry.entries():
        step = SHOWCASE.get(e.lesson.id, e.lesson.steps[min(1, len(e.lesson.steps) - 1)].id)
        paths += [f"{e.lesson.id}?mode=present&step={step}"]
    port = free_port()
    proc = start(port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            for path in paths:
                name = re.sub(r"[^A-Za-z0-9_]+", "-", path).strip("-") or "home"
                shoot(page, f"http://127.0.0.1:{port}/{path}", out / f"{name}.png")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
