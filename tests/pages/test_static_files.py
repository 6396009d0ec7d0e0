"""Streamlit's static files answered from memory (pages/_static_files.py, issue #12): the same answers as
Streamlit's own static handler (the reference), and everything it does not hold left to Streamlit."""
import asyncio
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from streamlit import file_util
from streamlit.web.server.app_discovery import discover_asgi_app
from streamlit.web.server.starlette.starlette_static_routes import create_streamlit_static_handler

from pages import _static_files
from pages._static_files import StaticFromMemory, static_files

ROOT = Path(__file__).resolve().parents[2]
STATIC = file_util.get_static_dir()


def _call(app, path: str, method: str = "GET", headers=()) -> tuple[int, dict, bytes]:
    """One HTTP request through an ASGI app: (status, headers, body)."""
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": b"", "headers": [(b"host", b"localhost"), *headers], "scheme": "http",
             "server": ("localhost", 80), "client": ("127.0.0.1", 1), "http_version": "1.1",
             "asgi": {"version": "3.0"}}
    sent, asked = [], []

    async def receive():  # the request, then a client that stays until the answer is sent
        if asked:
            await asyncio.Event().wait()
        asked.append(1)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    # in a thread of its own: a session's browser tests (Playwright) may hold an event loop running in this one
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


class _Recorder:
    """An inner app that records what it is asked and answers 418."""

    def __init__(self):
        self.paths = []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _sample(n: int = 40) -> list[str]:
    """Every kind of file in the folder (js, css, fonts, images, ...), the largest of each and more."""
    files = static_files(STATIC)
    by_kind = {}
    for path in sorted(files, key=lambda p: -Path(files[p]).stat().st_size):
        by_kind.setdefault(Path(path).suffix, []).append(path)
    return sorted({p for paths in by_kind.values() for p in paths[:max(1, n // len(by_kind))]})


def test_the_answers_are_streamlits_own():
    streamlit_handler = create_streamlit_static_handler(STATIC, None)
    ours = StaticFromMemory(_Recorder())
    sample = _sample()
    assert len(sample) >= 10 and any(p.endswith(".js") for p in sample) and any(p.endswith(".woff2") for p in sample)
    for path in sample:
        for _ in range(2):  # read from the disk, then from memory
            status, headers, body = _call(ours, path)
            ref_status, ref_headers, ref_body = _call(streamlit_handler, path)
            assert (status, body) == (ref_status, ref_body) == (200, Path(STATIC, path.lstrip("/")).read_bytes())
            for name in ("content-type", "content-length", "cache-control", "last-modified"):
                assert headers[name] == ref_headers[name], (path, name)
    assert ours.app.paths == []  # every one answered from memory
    assert set(ours.held) == set(sample)


def test_head_sends_the_headers_without_the_body():
    path = _sample()[0]
    ours = StaticFromMemory(_Recorder())
    status, headers, body = _call(ours, path, "HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) == Path(STATIC, path[1:]).stat().st_size


@pytest.mark.parametrize("path", ["/", "/index.html", "/welcome", "/_stcore/health", "/static/js/no-such-file.js",
                                  "/static/../index.html", "/static//js/x.js", "/static/js/../../index.html",
                                  "/static", "/static/"])
def test_anything_else_goes_on_to_streamlit(path):
    inner = _Recorder()
    status, _, _ = _call(StaticFromMemory(inner), path)
    assert status == 418 and inner.paths == [path]


def test_ranges_other_methods_and_a_full_memory_go_on_to_streamlit(monkeypatch):
    path = _sample()[0]
    inner = _Recorder()
    ours = StaticFromMemory(inner)
    assert _call(ours, path, headers=[(b"range", b"bytes=0-9")])[0] == 418
    assert _call(ours, path, "POST")[0] == 418
    monkeypatch.setattr(_static_files, "MAX_BYTES", 10)
    assert _call(ours, path)[0] == 418
    assert inner.paths == [path] * 3 and ours.held == {}


def test_only_files_of_the_folder_are_listed(tmp_path):
    (tmp_path / "static" / "js").mkdir(parents=True)
    (tmp_path / "static" / "js" / "a.js").write_text("x")
    (tmp_path / "index.html").write_text("page")
    assert static_files(str(tmp_path)) == {"/static/js/a.js": str(tmp_path / "static" / "js" / "a.js")}


def test_streamlit_run_finds_app_py_s_asgi_app_and_a_script_run_draws_the_page():
    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.app_name == "app"
    spec = importlib.util.spec_from_file_location("app_under_test", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # as `streamlit run` imports it: no page is drawn, `app` is made
    assert type(module.app).__name__ == "App" and Path(module.app.script_path) == ROOT / "app.py"
