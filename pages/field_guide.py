"""Field guide: a diagnostic card (symptom -> likely cause -> first fix), a recipe for a new problem,
and two of the recipe's checks run live with the engine (lessons/guide.py: the first loss against
ln K, and overfitting one batch), each measured over ten seeds.

The words live in lessons/text/<language>/field_guide.md; links are written [[lesson:step]] there.
The checks' runs come from the shipped cache (`python -m engine.precompute lessons.registry:all_experiments`).
The file is named after the page's URL; see pages/_shared.started_without_app."""
import streamlit as st

from lessons import guide
from lessons.claims import fill
from lessons.words import Words
from pages import _shared as ui

if ui.started_without_app():
    st.stop()

W = Words("field_guide")  # lessons/text/<language>/field_guide.md
linked = ui.step_linker(W, "field_guide.step_link")


@st.cache_resource(show_spinner=False)
def checks():
    """The claims' evidence and the runs' curves (shipped cache first; trained once per server otherwise)."""
    return guide.evidence(), guide.curves()


st.title(W("field_guide.title"))
st.markdown(W("field_guide.intro"))
st.page_link("pages/glossary.py", label=W("field_guide.glossary"), icon=":material/dictionary:")

st.header(W("field_guide.card_title"), anchor="diagnostic-card")
st.caption(W("field_guide.card_intro"))
st.markdown(linked(W("field_guide.card")))

st.header(W("field_guide.recipe_title"), anchor="recipe")
st.markdown(W("field_guide.recipe_intro"))
st.markdown(linked(W("field_guide.recipe")))

st.header(W("field_guide.live_title"), anchor="live-checks")
st.markdown(W("field_guide.live_intro", ln_k=guide.LN_K))
with st.spinner(W("field_guide.training")):
    ev, (init_df, overfit_df) = checks()
axes = dict(x_title=W("field_guide.step_axis"), y_title=W("field_guide.loss_axis"), rule=W("field_guide.rule"))
left, right = st.columns(2, gap="large")
with left:
    st.altair_chart(guide.init_chart(init_df, title=W("field_guide.init_title"), **axes), width="stretch", theme=None)
    st.markdown(fill(W("field_guide.init_note", ln_k=guide.LN_K), ev))
    st.markdown(fill(W("field_guide.stuck_note", steps=guide.INIT_STEPS), ev))
with right:
    st.altair_chart(guide.overfit_chart(overfit_df, title=W("field_guide.overfit_title"), **axes), width="stretch",
                    theme=None)
    st.markdown(fill(W("field_guide.overfit_note", steps=guide.OVERFIT_STEPS), ev))
