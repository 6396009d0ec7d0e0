"""Lecture plans: put slides from any lessons in order, share the plan as a link or a JSON file,
present it. The plan logic is in pages/_plans.py; walking it is pages/_shared.py's Present mode.

The file is named after the page's URL; see pages/_shared.started_without_app."""
import json

import pandas as pd
import streamlit as st

from lessons import registry
from pages import _plan_codec as _plans
from pages import _shared as ui

if ui.started_without_app():
    st.stop()

T = ui.T
lessons = {e.lesson.id: e for e in registry.entries()}
st.title(T("plans_title"))
st.markdown(T("plans_intro"))
draft = st.session_state.setdefault(ui._DRAFT, {"title": "", "items": []})


def flash(kind: str, text: str) -> None:
    """A message for the next run (this one ends in st.rerun)."""
    st.session_state["_plan.flash"] = (kind, text)


kind, text = st.session_state.pop("_plan.flash", None) or (None, None)
if kind:
    (st.warning if kind == "warning" else st.success)(text)


st.header(T("plans_yours"))
draft["title"] = st.text_input(T("plans_name"), value=draft.get("title", ""), max_chars=120)
if not draft["items"]:
    st.info(T("plans_empty"), icon=":material/playlist_add:")
else:
    rows = []
    for k, item in enumerate(draft["items"]):
        lesson = lessons[item["lesson"]].lesson
        rows.append({T("plans_order"): k + 1, T("plans_lesson"): f"{lesson.number}. {lesson.title}",
                     T("plans_step"): lesson.step(item["step"]).title,
                     T("plans_settings"): ", ".join(f"{a} = {b}" for a, b in item["values"].items()),
                     T("plans_remove"): False})
    edited = st.data_editor(pd.DataFrame(rows), hide_index=True, width="stretch", key="_plan.editor",
                            disabled=[T("plans_lesson"), T("plans_step"), T("plans_settings")])
    if st.button(T("plans_apply"), icon=":material/sort:"):
        keep = [(float(o), k) for k, (o, rm) in enumerate(zip(edited[T("plans_order")], edited[T("plans_remove")]))
                if not rm and pd.notna(o)]
        draft["items"] = [draft["items"][k] for _, k in sorted(keep)]
        st.session_state.pop("_plan.editor", None)  # the table's edits were for the old order
        st.rerun()
    plan, _ = _plans.validate(draft, [e.lesson for e in lessons.values()])
    st.markdown(T("plans_link"))
    st.code(ui.app_link(f"plan={_plans.encode(plan)}"), language=None)
    a, b, c = st.columns(3)
    # a callback: it sets the mode before the page draws the mode switch; the next run opens the slide
    a.button(T("plans_present"), type="primary", icon=":material/slideshow:", on_click=ui.load_plan, args=(plan,),
             disabled=not plan["items"])
    b.download_button(T("plans_download"), json.dumps(plan, indent=1, ensure_ascii=False),
                      file_name="lecture-plan.json", mime="application/json", icon=":material/download:")
    if c.button(T("plans_clear"), icon=":material/delete:"):
        draft["items"] = []
        st.rerun()

upload = st.file_uploader(T("plans_upload"), type=["json"], key="_plan.upload")
if upload is not None and st.session_state.get("_plan.uploaded") != upload.file_id:
    st.session_state["_plan.uploaded"] = upload.file_id
    try:
        data = _plans.loads(upload.getvalue())
    except ValueError as e:
        data = {"problem": str(e)}
    plan, problems = _plans.validate(data, [e.lesson for e in lessons.values()])
    if plan["items"]:
        st.session_state[ui._DRAFT] = plan
    if problems:
        flash("warning", T("plans_problems", items=ui.plain("; ".join(problems[:5]), 300)))
    else:
        flash("success", T("plans_loaded", n=len(plan["items"])))
    st.rerun()

with st.form("_plan.add_lesson", border=False):
    pick = st.selectbox(T("plans_add_lesson"), list(lessons),
                        format_func=lambda i: f"{lessons[i].lesson.number}. {lessons[i].lesson.title}")
    if st.form_submit_button(T("plans_add_button"), icon=":material/add:"):
        draft["items"].extend(_plans.default_plans([lessons[pick].lesson])[pick]["items"])
        st.rerun()

st.header(T("plans_ready"))
for lid, plan in _plans.default_plans([e.lesson for e in lessons.values()]).items():
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.markdown(f"[{plan['title']}](?plan={_plans.encode(plan)})")
    right.button(T("plans_open"), key=f"_plan.open.{lid}", icon=":material/slideshow:", on_click=ui.load_plan,
                 args=(plan,))
