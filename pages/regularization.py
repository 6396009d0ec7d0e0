"""Lesson 6 page: regularization (the lesson lives in lessons/regularization.py).

The file is named after the page's URL; see pages/_shared.started_without_app."""
from lessons.regularization import LESSON
from pages import _shared as ui

if not ui.started_without_app():
    ui.render_lesson(LESSON)
