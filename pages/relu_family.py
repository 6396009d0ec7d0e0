"""Lesson 2 page: the ReLU family and output activations (the lesson lives in lessons/relu_family.py).

The file is named after the page's URL; see pages/_shared.started_without_app."""
from lessons.relu_family import LESSON
from pages import _shared as ui

if not ui.started_without_app():
    ui.render_lesson(LESSON)
