"""The web chat (Gradio): ``launch`` serves it, ``build_app`` returns the ``gr.Blocks``.

``app.py`` holds the layout and handlers, ``render.py`` the HTML, ``guard.py`` the
request checks, ``static/`` the page's CSS and JavaScript.
"""

from .app import build_app, launch

__all__ = ["build_app", "launch"]
