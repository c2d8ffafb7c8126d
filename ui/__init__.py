"""Streamlit helpers shared by app.py and the screens in app_pages/: state, login gate, sidebar, forms."""
