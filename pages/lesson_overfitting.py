from lessons.overfitting import LESSON
from pages._shared import render_lesson

render_lesson(LESSON)
