"""Home: what the course is, the lessons, and how students and instructors use the app.

The file is named after the page's URL; see pages/_shared.started_without_app."""
from pathlib import Path

import streamlit as st

from lessons import registry
from pages import _shared as ui

if ui.started_without_app():
    st.stop()

st.title("Deep learning, step by step")
st.markdown(
    "An interactive companion to a course on **how neural networks learn**: why deep sigmoid "
    "networks stop learning, what ReLU and its relatives fix, where loss functions come from, how "
    "optimizers move through a loss surface, how to tell overfitting from learning, and how "
    "regularisation keeps a model honest. Every idea comes with a live experiment: move a slider and a "
    "real PyTorch model retrains in front of you."
)
st.markdown(
    "**Evidence, not anecdotes.** Every comparison a lesson makes (\"dropout lowers the validation "
    "loss\", \"Adam beats plain SGD here\") is measured over ten seeds trained together, and the note "
    "says how often it held (\"in 10 of 10 seeds\"); the charts show every seed, with the mean and "
    "spread. One run can mislead; ten rarely do."
)
st.markdown(
    "**For whom:** students who know a little Python and calculus and have met a neural network "
    "once, and instructors who teach them."
)

st.header("Lessons")
entries = registry.entries()
if not entries:
    st.info("The lessons are being written; they appear here as soon as they work.")
for e in entries:
    st.page_link(e.page, label=f"Lesson {e.lesson.number}: {e.lesson.title}", icon=":material/school:")
    st.caption(e.lesson.summary)

student, instructor = st.columns(2, gap="large")
with student:
    st.subheader(":material/person: Studying alone")
    st.markdown(
        "- Keep the sidebar on **Self-paced**: a lesson is one scrolling page of steps.\n"
        "- Read the step, predict what the demo will show, then move the controls.\n"
        "- Each step says *what to notice*; answer its check question before moving on.\n"
        "- Tick *I have worked through this step*; the bar at the top shows your progress."
    )
with instructor:
    st.subheader(":material/co_present: Teaching a class")
    st.markdown(
        "- Switch the sidebar to **Present**: one step per screen in large type, with *Previous* / "
        "*Next* buttons (or the arrow keys, PageUp / PageDown and Space, as a presenter's clicker "
        "sends them) and a step picker; the narrative and derivations sit in *Speaker notes*.\n"
        "- The address bar always holds the current view: mode, step and the demo's settings, "
        "e.g. `.../vanishing_gradients?mode=present&step=playground&depth=3&activation=relu`.\n"
        "- Prepare a lecture as a list of such links and open them in turn; a link with a typo "
        "falls back to the defaults and says what it ignored."
    )

st.header("What is precomputed")
shipped = Path(__file__).resolve().parent.parent / "assets" / "cache"
count = sum(1 for p in shipped.glob("**/*.json")) if shipped.is_dir() else 0
st.markdown(
    "The default view of every lesson step is trained ahead of time and shipped with the app "
    f"(`assets/cache/`, {count} results now), so the first visit answers at once even on a small "
    "CPU. Any other setting trains on the spot, on the device shown in the sidebar, and is cached "
    "for the rest of the session; long runs show a progress bar."
)
