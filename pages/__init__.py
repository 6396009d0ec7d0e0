"""Streamlit pages. app.py registers them explicitly; `_shared` holds the UI they share."""
