"""Lesson 1 page: vanishing gradients (the lesson lives in lessons/vanishing.py).

The file is named after the page's URL; see pages/_shared.started_without_app."""
from lessons.vanishing import LESSON
from pages import _shared as ui

if not ui.started_without_app():
    ui.render_lesson(LESSON)
