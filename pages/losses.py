"""Lesson 3 page: loss functions from maximum likelihood (the lesson lives in lessons/losses.py).

The file is named after the page's URL; see pages/_shared.started_without_app."""
from lessons.losses import LESSON
from pages import _shared as ui

if not ui.started_without_app():
    ui.render_lesson(LESSON)
