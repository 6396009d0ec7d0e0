"""Lesson 5 page: overfitting and validation (the lesson lives in lessons/overfitting.py).

The file is named after the page's URL; see pages/_shared.started_without_app."""
from lessons.overfitting import LESSON
from pages import _shared as ui

if not ui.started_without_app():
    ui.render_lesson(LESSON)
