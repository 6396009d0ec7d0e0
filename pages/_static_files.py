"""Streamlit's own static files (its JavaScript bundles, style sheet and fonts) answered from memory
(plain ASGI, no Streamlit UI). app.py puts `StaticFromMemory` in front of Streamlit's server.

Every new browser fetches about 130 of these files (4 MB) once, then keeps them for a year (their
names carry a hash of their content). Streamlit serves each through a stack of middleware and a file
response that opens, reads and closes it in worker threads: ~2 ms of server CPU a file, ~0.2 s a
browser, most of what a class opening the app at once costs the server (issue #12). Here a file is
read once and sent in one piece afterwards.

Only an exact path of a file that Streamlit's static folder holds is answered (the list is read at
start, so no request can name anything else); everything else (the page itself, `index.html`,
`/_stcore/...`, media, a range request, a base URL path) goes on to Streamlit unchanged, and so does a
file once `MAX_BYTES` are held. The answer carries what Streamlit's would: the content type, the
length and the year-long, immutable cache header.
"""
from __future__ import annotations

import mimetypes
import os
from email.utils import formatdate

MAX_BYTES = 16 * 1024 * 1024  # held at most (Streamlit 1.67's folder: 25 MB, a page needs ~4 MB of it)
CACHE_CONTROL = b"public, immutable, max-age=31536000"  # Streamlit's own header for its hashed files


def static_files(root: str) -> dict[str, str]:
    """{URL path: file} for every file under `root`/static (served at /static/...)."""
    files = {}
    for folder, _, names in os.walk(os.path.join(root, "static")):
        for name in names:
            full = os.path.join(folder, name)
            files["/" + os.path.relpath(full, root).replace(os.sep, "/")] = full
    return files


def _headers(full: str, size: int) -> list[tuple[bytes, bytes]]:
    kind = mimetypes.guess_type(full)[0] or "text/plain"  # as Starlette's file response guesses it
    if kind.startswith("text/"):
        kind += "; charset=utf-8"
    return [(b"content-type", kind.encode()), (b"content-length", str(size).encode()),
            (b"last-modified", formatdate(os.path.getmtime(full), usegmt=True).encode()),
            (b"cache-control", CACHE_CONTROL)]


class StaticFromMemory:
    """ASGI middleware: GET and HEAD of Streamlit's static files from memory, the rest to `app`."""

    def __init__(self, app, root: str | None = None):
        if root is None:
            from streamlit import file_util  # the folder Streamlit's own server serves

            root = file_util.get_static_dir()
        self.app = app
        self.files = static_files(root)
        self.held: dict[str, tuple[bytes, list]] = {}
        self.size = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and not scope.get("root_path"):
            answer = self._answer(scope)
            if answer is not None:
                body, headers = answer
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})
                return
        await self.app(scope, receive, send)

    def _answer(self, scope):
        path = scope["path"]
        if any(name == b"range" for name, _ in scope.get("headers", ())):
            return None
        if path in self.held:
            return self.held[path]
        full = self.files.get(path)
        if full is None:
            return None
        try:
            with open(full, "rb") as f:
                body = f.read()
        except OSError:
            return None  # Streamlit answers (a 404, or its page)
        if self.size + len(body) > MAX_BYTES:
            return None
        self.size += len(body)
        self.held[path] = (body, _headers(full, len(body)))
        return self.held[path]
