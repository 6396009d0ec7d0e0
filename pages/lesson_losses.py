"""Lesson 3 page: loss functions from maximum likelihood (the lesson lives in lessons/losses.py)."""
from lessons.losses import LESSON
from pages import _shared as ui

ui.render_lesson(LESSON)
