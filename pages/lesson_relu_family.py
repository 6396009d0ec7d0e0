"""Lesson 2 page: the ReLU family and output activations (the lesson lives in lessons/relu_family.py)."""
from lessons.relu_family import LESSON
from pages import _shared as ui

ui.render_lesson(LESSON)
