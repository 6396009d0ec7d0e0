"""The course outline: which lesson modules exist, in which section, in course order.

This list is the single place that decides what the app shows. To add a lesson, write
`lessons/<module>.py` exposing `LESSON: Lesson`, a short page `pages/<LESSON.id>.py` (copy one
that exists; the file name is the page's URL) and one line here. A line whose module or page is
missing is an error that names what is missing: a misspelled line must not silently drop a lesson.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from lessons.walkthrough import Lesson

ROOT = Path(__file__).resolve().parent.parent

# (section in the sidebar, module under lessons/), in course order.
COURSE: tuple[tuple[str, str], ...] = (
    ("Activations", "vanishing"),
    ("Activations", "relu_family"),
    ("Losses and optimisation", "losses"),
    ("Losses and optimisation", "optimizers"),
    ("Generalisation", "overfitting"),
    ("Generalisation", "regularization"),
)


@dataclass(frozen=True)
class Entry:
    section: str
    module: str
    lesson: Lesson

    @property
    def page(self) -> str:
        return page_script(self.lesson.id)


def page_script(lesson_id: str) -> str:
    """A lesson's page script, relative to the repository root (where app.py lives); its name is
    the page's URL path."""
    return f"pages/{lesson_id}.py"


class CourseError(LookupError):
    """A COURSE line names a lesson module or page that does not exist."""


def written(course=COURSE) -> list[tuple[str, str]]:
    """The (section, module) lines, each checked to name an existing lesson module."""
    for _, m in course:
        if importlib.util.find_spec(f"lessons.{m}") is None:
            raise CourseError(f"lessons/registry.py names lessons.{m}, but lessons/{m}.py does not exist")
    return list(course)


def entries(course=COURSE) -> list[Entry]:
    """The lessons in course order, each with its module and page script (missing ones raise)."""
    out = []
    for section, module in written(course):
        lesson = getattr(importlib.import_module(f"lessons.{module}"), "LESSON", None)
        if not isinstance(lesson, Lesson):
            raise CourseError(f"lessons/{module}.py has no LESSON = Lesson(...)")
        if not (ROOT / page_script(lesson.id)).is_file():
            raise CourseError(f"lessons/{module}.py has no page: add {page_script(lesson.id)}")
        out.append(Entry(section, module, lesson))
    return out


def lessons() -> list[Lesson]:
    return [e.lesson for e in entries()]


def experiments_of(module_name: str) -> list:
    """One lesson's share of `all_experiments`: every step's runs for its default view and each preset
    (`Step.runs`), and every claim's sweep over its seeds. Nothing is listed by hand, so a step cannot
    forget to ship what it draws (tests/lessons/test_every_lesson.py checks that it is shipped):

        python -c "from engine.precompute import precompute; from lessons.registry import experiments_of;
                   print(precompute(experiments_of('regularization')))"
    """
    module = importlib.import_module(f"lessons.{module_name}")
    out = []
    for step in module.LESSON.steps:
        for values in step.views():
            out.extend(step.experiments(values))
        for claim in step.claims:
            out.extend(claim.runs())
    return out


def all_experiments() -> list:
    """Every engine experiment the registered lessons' default views need (for engine.precompute, with
    `all_memos` for the steps that run plain torch code):

        python -m engine.precompute lessons.registry:all_experiments lessons.registry:all_memos --prune
    """
    out = []
    for e in entries():  # default views, presets, and every claim's sweep over its seeds
        out.extend(experiments_of(e.module))
    from lessons import guide  # the field guide's live checks ship with the lessons (so --prune keeps them)

    out.extend(guide.experiments())
    return out


def all_memos() -> list:
    """Every plain-PyTorch table the lessons' steps show (engine.memo), from each lesson module's
    `memos()` where it has one; the same precompute command ships them:

        python -m engine.precompute lessons.registry:all_experiments lessons.registry:all_memos --prune
    """
    out = []
    for e in entries():
        out.extend(getattr(importlib.import_module(f"lessons.{e.module}"), "memos", list)())
    return out
