"""The contract between a lesson and the page that renders it.

A lesson is an ordered tuple of `Step`s. A step declares its controls (with defaults and ranges),
a demo callable, and text. The demo receives the validated control values and returns a list of
*outputs* (charts, tables, metrics, notes) as plain Python objects; `pages/` turns them into
Streamlit calls. Nothing here imports Streamlit, so a lesson runs in a notebook as well:

    outs = lessons.vanishing.LESSON.step("chain").demo({"depth": 10, ...})

Controls know how to parse a raw URL query value (`Control.parse`), so deep links such as
`?step=3&depth=8` are validated in one place; a bad value falls back to the default with a reason.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

# ---------------------------------------------------------------- controls


@dataclass(frozen=True)
class Control:
    """One widget of a step's demo, bound to the URL query parameter `name`.

    kind: "slider" (int or float, `min`/`max`/`step`), "log_slider" (float chosen from `options`,
    a log-spaced grid shown as a select slider), "select" (one of `options`), "toggle" (bool).
    """

    name: str
    label: str
    kind: str
    default: Any
    min: Optional[float] = None
    max: Optional[float] = None
    step: Optional[float] = None
    options: tuple = ()
    help: str = ""
    format: Optional[str] = None  # e.g. "%.3f" for sliders; labels for options come from str()

    def parse(self, raw: Any) -> tuple[Any, Optional[str]]:
        """Turn a raw value (a URL string or a widget value) into a valid one.

        Returns (value, None) when `raw` is valid, else (default, "why") so the caller can show a
        short notice and carry on with the default.
        """
        try:
            if self.kind == "toggle":
                if isinstance(raw, bool):
                    return raw, None
                s = str(raw).strip().lower()
                if s in ("1", "true", "yes", "on"):
                    return True, None
                if s in ("0", "false", "no", "off"):
                    return False, None
                return self.default, f"{self.name}={raw!r} is not true/false"
            if self.kind in ("select", "log_slider"):
                for opt in self.options:
                    if raw == opt or str(raw) == str(opt):
                        return opt, None
                    if isinstance(opt, float) and _is_number(raw) and math.isclose(float(raw), opt, rel_tol=1e-9):
                        return opt, None
                shown = ", ".join(str(o) for o in self.options[:8]) + (" ..." if len(self.options) > 8 else "")
                return self.default, f"{self.name}={raw!r} is not one of: {shown}"
            if self.kind == "slider":
                if not _is_number(raw):
                    return self.default, f"{self.name}={raw!r} is not a number"
                v = float(raw)
                if not math.isfinite(v) or v < self.min or v > self.max:
                    return self.default, f"{self.name}={raw!r} is outside [{self.min}, {self.max}]"
                if isinstance(self.default, int) and not isinstance(self.default, bool):
                    if v != int(v):
                        return self.default, f"{self.name}={raw!r} must be a whole number"
                    return int(v), None
                return v, None
        except Exception:  # noqa: BLE001 - any odd input is a bad input, never a crash
            pass
        return self.default, f"{self.name}={raw!r} could not be read"

    def to_query(self, value: Any) -> str:
        if self.kind == "toggle":
            return "1" if value else "0"
        return str(value)


def _is_number(raw: Any) -> bool:
    if isinstance(raw, bool):
        return False
    if isinstance(raw, (int, float)):
        return math.isfinite(float(raw))
    try:
        return math.isfinite(float(str(raw).strip()))
    except ValueError:
        return False


def Slider(name, label, min, max, default, step=None, help="", format=None) -> Control:  # noqa: N802
    return Control(name, label, "slider", default, min=min, max=max, step=step, help=help, format=format)


def LogSlider(name, label, options: Sequence[float], default, help="") -> Control:  # noqa: N802
    return Control(name, label, "log_slider", default, options=tuple(options), help=help)


def Select(name, label, options: Sequence, default, help="") -> Control:  # noqa: N802
    return Control(name, label, "select", default, options=tuple(options), help=help)


def Toggle(name, label, default=False, help="") -> Control:  # noqa: N802
    return Control(name, label, "toggle", bool(default), help=help)


# ---------------------------------------------------------------- outputs a demo returns


@dataclass
class Chart:
    """An Altair chart (any alt.TopLevelMixin). `square`: a 2-D map whose axes share one scale, drawn at
    its own width and height (declare both) instead of stretched to the column, so it keeps its aspect."""

    chart: Any
    caption: str = ""
    square: bool = False


@dataclass
class Table:
    """A pandas DataFrame shown as a table."""

    df: Any
    caption: str = ""


@dataclass
class Metric:
    label: str
    value: str
    delta: Optional[str] = None
    help: str = ""


@dataclass
class Note:
    """A call-out. kind: "info", "success", "warning" or "error"."""

    text: str
    kind: str = "info"


@dataclass
class Markdown:
    text: str


@dataclass
class Latex:
    text: str


@dataclass
class Columns:
    """Side-by-side groups of outputs: `cols` is a list of lists of outputs."""

    cols: list


@dataclass
class Code:
    """Source code shown to learners; use `inspect.getsource` of the real function."""

    source: str
    language: str = "python"


def flatten(outputs) -> list:
    """A demo's outputs with every Columns group opened up, in reading order."""
    out = []
    for o in outputs:
        if isinstance(o, Columns):
            for col in o.cols:
                out.extend(flatten(col if isinstance(col, (list, tuple)) else [col]))
        else:
            out.append(o)
    return out


Progress = Callable[[float, str], None]  # progress(fraction in [0, 1], short text)


def no_progress(fraction: float, text: str = "") -> None:
    return None


# ---------------------------------------------------------------- steps and lessons


@dataclass(frozen=True)
class Question:
    """A multiple-choice check. `explanations[i]` says why option i is right or wrong."""

    prompt: str
    options: tuple
    answer: int
    explanations: tuple


def _lean_outputs(demo: Callable[..., list]) -> Callable[..., list]:
    """`demo` whose charts (also inside Columns) go through `lessons.charts.lean`."""
    @functools.wraps(demo)
    def lean_demo(*args, **kwargs):
        from lessons.charts import lean

        def each(o):
            if isinstance(o, Chart):
                return dataclasses.replace(o, chart=lean(o.chart))  # caption and square kept
            if isinstance(o, Columns):
                return Columns([[each(x) for x in col] if isinstance(col, (list, tuple)) else each(col)
                                for col in o.cols])
            return lean(o) if type(o).__module__.startswith("altair") else o

        outs = demo(*args, **kwargs)
        return outs if outs is None else [each(o) for o in outs]

    lean_demo.lean_charts = True
    return lean_demo


@dataclass(frozen=True)
class Step:
    """One step, declared in one place in its lesson module: id, controls, the runs it needs, the demo,
    presets and claims. Its words (title, slide text, key equation, speaker notes, what to notice,
    questions) come from the lesson's Markdown, keyed by `id` (lessons/words.py), when the lesson is
    built with `Words.lesson(...)`."""

    id: str  # short slug, unique within the lesson; links say ?step=<id>
    title: str = ""
    controls: tuple = ()  # Control, ...
    demo: Optional[Callable[..., list]] = None  # demo(values: dict, progress: Progress) -> [outputs]
    notice: str = ""  # "What to notice" (Markdown)
    questions: tuple = ()  # Question, ...: checks of understanding
    presets: tuple = ()  # ((label, {control: value, ...}), ...): one-click settings
    heavy: bool = False  # True when a fresh choice of controls trains a model (show progress)
    claims: tuple = ()  # lessons.claims.Claim, ...: what `notice` and the questions quote, over seeds
    runs: Optional[Callable[[dict], list]] = None  # runs(values) -> the engine experiments the demo draws
    slide: str = ""  # the slide's words: one or two sentences (Markdown)
    equation: str = ""  # the one key equation (LaTeX), on the slide
    notes: str = ""  # speaker notes: the narrative and the full derivation (Markdown, $$...$$ allowed)
    predict: Optional[Question] = None  # asked before the demo; its explanations reveal how the runs compare
    worked: str = ""  # worked numbers before the demo: a short hand calculation (Markdown, `{name:fmt}` placeholders)
    worked_values: Optional[Callable[[], dict]] = None  # computes the placeholders of `worked` with the engine

    def __post_init__(self):
        # every chart the demo returns travels lean: only the columns it draws, in compact types
        # (lessons.charts.lean; issue #12). What is drawn is the same.
        if self.demo is not None and not getattr(self.demo, "lean_charts", False):
            object.__setattr__(self, "demo", _lean_outputs(self.demo))

    def views(self) -> list[dict]:
        """The control values of the default view and of every preset (what the shipped cache must hold)."""
        out = [self.defaults()]
        for _, values in self.presets:
            out.append({**self.defaults(), **values})
        return out

    def experiments(self, values: Optional[dict] = None) -> list:
        """The engine runs the demo draws for `values` (defaults where not given); [] without `runs`."""
        if self.runs is None:
            return []
        vals = self.defaults()
        for k, v in (values or {}).items():
            if k in vals:
                vals[k], _ = self.control(k).parse(v)
        return list(self.runs(vals))

    def evidence(self, progress: Progress = no_progress, cache=True) -> dict:
        """The step's claims measured over their seeds: {claim id: Evidence} (empty without claims)."""
        if not self.claims:
            return {}
        from lessons.claims import measure

        return measure(self.claims, progress=progress, cache=cache)

    def notice_text(self, evidence: Optional[dict] = None) -> str:
        """`notice` with its claim placeholders filled from `evidence` (measured when not given)."""
        from lessons.claims import fill

        return fill(self.notice, self.evidence() if evidence is None else evidence)

    def checks_filled(self, evidence: Optional[dict] = None) -> tuple:
        """The step's questions with claim placeholders in their text filled from `evidence`."""
        from lessons.claims import fill

        ev = self.evidence() if evidence is None and self.claims else (evidence or {})
        return tuple(Question(fill(q.prompt, ev), tuple(fill(str(o), ev) for o in q.options), q.answer,
                              tuple(fill(x, ev) for x in q.explanations)) for q in self.checks())

    def defaults(self) -> dict:
        return {c.name: c.default for c in self.controls}

    def control(self, name: str) -> Control:
        for c in self.controls:
            if c.name == name:
                return c
        raise KeyError(name)

    def checks(self) -> tuple:
        return tuple(self.questions)

    def worked_text(self) -> str:
        """`worked` with its `{name:fmt}` placeholders filled from `worked_values()` (computed by the engine)."""
        if not self.worked:
            return ""
        from lessons.words import fill_values

        return fill_values(self.worked, self.worked_values() if self.worked_values else {}, f"{self.id}.worked")

    def prediction_filled(self, evidence: Optional[dict] = None) -> Optional[Question]:
        """The step's prediction with claim placeholders filled from `evidence` (None without one)."""
        if self.predict is None:
            return None
        from lessons.claims import fill

        ev = self.evidence() if evidence is None and self.claims else (evidence or {})
        q = self.predict
        return Question(fill(q.prompt, ev), tuple(fill(str(o), ev) for o in q.options), q.answer,
                        tuple(fill(x, ev) for x in q.explanations))

    def run(self, values: Optional[dict] = None, progress: Progress = no_progress) -> list:
        """Run the demo with defaults overridden by `values` (validated)."""
        if self.demo is None:
            return []
        vals = self.defaults()
        for k, v in (values or {}).items():
            if k in vals:
                vals[k], _ = self.control(k).parse(v)
        return self.demo(vals, progress)


@dataclass(frozen=True)
class Lesson:
    id: str  # URL path of the page, e.g. "vanishing_gradients"
    number: int
    title: str
    summary: str  # one line for the home page
    steps: tuple
    references: tuple = ()  # short citations used on this lesson
    intro: str = ""
    recap: str = ""  # what the lesson established, a few bullets; claim placeholders as "{step.claim.of}"
    words: Any = None  # lessons.words.Words the text came from (None for a lesson written in Python)

    def text(self, key: str, /, **values) -> str:
        """One of the lesson's strings by key, with `values` filled in (see lessons/words.py)."""
        return self.words.text(key, **values)

    def step(self, id_or_index) -> Step:
        if isinstance(id_or_index, int):
            return self.steps[id_or_index]
        for s in self.steps:
            if s.id == id_or_index:
                return s
        raise KeyError(id_or_index)


__all__ = [
    "Control", "Slider", "LogSlider", "Select", "Toggle",
    "Chart", "Table", "Metric", "Note", "Markdown", "Latex", "Columns", "Code",
    "flatten", "Progress", "no_progress", "Question", "Step", "Lesson", "field",
]
