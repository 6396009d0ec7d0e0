"""Lecture plans: an ordered list of slides (lesson, step, control values) across lessons.

Not a page. A plan is plain data: {"title": str, "items": [{"lesson": id, "step": id, "values": {...}}]}.
It travels in a link (`?plan=<code>`: JSON, zlib, URL-safe base64) or as a small JSON file the
instructor downloads and loads again. A plan read from outside is untrusted: `validate` keeps the
items that name a registered lesson and step, parses each value with the step's own control
(`Control.parse`, a bad value falls back to the default), and says what it dropped. Each lesson's
default walkthrough (every step, default values) ships as a plan (`default_plans`).
"""
from __future__ import annotations

import base64
import binascii
import json
import zlib

MAX_ITEMS = 200  # a lecture is dozens of slides; more is not a plan
MAX_CODE = 20_000  # characters of a plan link's code we read at most
MAX_JSON = 1 << 18  # bytes a plan's JSON may unpack to (a zip bomb stops here)


def encode(plan: dict) -> str:
    """A plan as a short URL-safe code."""
    raw = json.dumps(plan, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode(code: str) -> dict:
    """The plan in a link's code. Raises ValueError on anything that is not one."""
    text = str(code).strip()
    if not text or len(text) > MAX_CODE:
        raise ValueError("the plan code is empty or too long")
    try:
        unzip = zlib.decompressobj()
        raw = unzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), MAX_JSON)
        if unzip.unconsumed_tail:
            raise ValueError("the plan is too large")
        return loads(raw)
    except (binascii.Error, zlib.error, ValueError) as e:
        raise ValueError("the plan code could not be read") from e


def loads(raw: bytes):
    """JSON from untrusted bytes (a link or an uploaded file): ValueError on anything that is not
    small, well-formed JSON (deep nesting included)."""
    if len(raw) > MAX_JSON:
        raise ValueError("the plan is too large")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError("the plan is not readable JSON") from e


def _clean(text) -> str:
    """Printable text only (no control characters, no lone surrogates that would break encoding)."""
    text = str(text).encode("utf-8", "replace").decode("utf-8")
    return "".join(ch for ch in text if ch.isprintable())


def validate(plan, lessons) -> tuple[dict, list[str]]:
    """Keep what names a real lesson and step; parse values with the step's controls. Returns the
    clean plan and a list of what was dropped or replaced (plain text, for a notice)."""
    problems: list[str] = []
    if not isinstance(plan, dict) or not isinstance(plan.get("items"), list):
        return {"title": "", "items": []}, ["not a plan (it needs a list of items)"]
    by_id = {lesson.id: lesson for lesson in lessons}
    items = []
    for k, item in enumerate(plan["items"][:MAX_ITEMS]):
        if not isinstance(item, dict):
            problems.append(f"item {k + 1} is not a slide")
            continue
        lesson = by_id.get(str(item.get("lesson", "")))
        if lesson is None:
            problems.append(f"item {k + 1}: no lesson {str(item.get('lesson'))[:40]!r}")
            continue
        try:
            step = lesson.step(str(item.get("step", "")))
        except KeyError:
            problems.append(f"item {k + 1}: lesson {lesson.number} has no step {str(item.get('step'))[:40]!r}")
            continue
        raw = item.get("values") if isinstance(item.get("values"), dict) else {}
        values = {}
        for c in step.controls:
            if c.name in raw:
                value, why = c.parse(raw[c.name])
                if why:
                    problems.append(f"item {k + 1}: {why}")
                if value != c.default:
                    values[c.name] = value
        items.append({"lesson": lesson.id, "step": step.id, "values": values})
    if len(plan["items"]) > MAX_ITEMS:
        problems.append(f"only the first {MAX_ITEMS} items are kept")
    title = _clean(plan.get("title") or "")[:120]
    return {"title": title, "items": items}, problems


def default_plans(lessons) -> dict[str, dict]:
    """Each lesson's walkthrough as a plan: every step in order, default values."""
    return {lesson.id: {"title": f"Lesson {lesson.number}: {lesson.title}",
                        "items": [{"lesson": lesson.id, "step": s.id, "values": {}} for s in lesson.steps]}
            for lesson in lessons}


__all__ = ["encode", "decode", "loads", "validate", "default_plans", "MAX_ITEMS"]
