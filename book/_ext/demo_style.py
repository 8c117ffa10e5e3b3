"""The book's look for demos (``course_utils.widgets``): widths on a phone, and dark mode.

A demo is an ``ipywidgets.VBox`` with the class ``course-demo`` (its controls have
``course-demo-control``). Its picture is drawn at twice the column's CSS pixels and shown at the
column's width, so it is sharp on high-DPI screens and shrinks with the column on a phone; the
controls stretch to the column and no readout is cut off.

Dark mode (pydata-sphinx-theme's ``html[data-theme="dark"]``): the theme puts every widget
area in a light box, where the demo's title and labels are grey on grey. Here the demo takes
the page's own colours instead: its title, labels, readouts, sliders, buttons and menus use the
theme's text, border and surface colours. The picture keeps its colours, on its own white
sheet with rounded corners and no dimming filter: inverting it (``invert`` then
``hue-rotate``) would turn viridis' dark valley floors pink and light, and the colour scales
are the same in every chapter, in both modes.

The CSS is written next to the book's other offline assets (``_build/assets``, which
``offline_assets`` adds to ``html_static_path``), not into a ``_static/`` folder of the book:
Jupyter Book 1 would add every file of that one to every page.
"""
from pathlib import Path

CSS_NAME = "course-demos.css"

CSS = """
.course-demo { width: 100%; max-width: 688px; box-sizing: border-box; }
.course-demo > * { max-width: 100%; box-sizing: border-box; }
.course-demo img.widget-image { display: block; width: 100%; height: auto; max-width: 688px; margin: 0; }
.course-demo .widget-stack, .course-demo .widget-box { margin-left: 0; margin-right: 0; }

/* Sliders: the track takes what the label and the readout leave; the readout is never cut off. */
.course-demo .widget-hslider { width: 100%; min-width: 0; }
.course-demo .widget-hslider .slider-container { flex: 1 1 4em; min-width: 4em; }
.course-demo .widget-hslider .widget-readout { flex: 0 0 auto; width: auto; max-width: none;
  min-width: 2.5em; overflow: visible; white-space: nowrap; }
.course-demo .widget-label { max-width: none; min-width: 0; white-space: normal; }

/* Named choices: every option visible; toggle buttons wrap onto a second line if they must. */
.course-demo .widget-toggle-buttons { display: flex; align-items: center; width: 100%; height: auto; }
.course-demo .widget-toggle-buttons > .widget-label { flex: 0 0 auto; margin-right: 0.5em; }
.course-demo .widget-toggle-buttons > div { display: flex; flex-wrap: wrap; gap: 2px; flex: 1 1 auto; min-width: 0; width: auto; }
.course-demo .widget-toggle-buttons .widget-toggle-button { width: auto; min-width: 0; margin: 0; padding: 0 0.8em; }
.course-demo .widget-dropdown { width: auto; max-width: 100%; flex-wrap: wrap; }
.course-demo .widget-dropdown select { max-width: 100%; min-width: 0; }

/* Dark mode: the page's colours for the controls; the picture on its own white sheet, colours unchanged. */
html[data-theme="dark"] .bd-content div.cell_output .widget-subarea:has(.course-demo) {
  background: transparent; padding: 0; color: var(--pst-color-text-base); }
html[data-theme="dark"] .course-demo {
  color: var(--pst-color-text-base);
  --jp-widgets-color: var(--pst-color-text-base);
  --jp-widgets-label-color: var(--pst-color-text-base);
  --jp-widgets-readout-color: var(--pst-color-text-base);
  --jp-ui-font-color1: var(--pst-color-text-base);
  --jp-layout-color1: var(--pst-color-surface);
  --jp-layout-color2: var(--pst-color-surface);
  --jp-layout-color3: var(--pst-color-border);
  --jp-border-color1: var(--pst-color-border);
  --jp-widgets-input-color: var(--pst-color-text-base);
  --jp-widgets-input-background-color: var(--pst-color-surface);
  --jp-widgets-input-border-color: var(--pst-color-border);
  --jp-widgets-slider-handle-background-color: var(--pst-color-surface);
  --jp-widgets-slider-handle-border-color: var(--pst-color-text-muted);
  --jp-widgets-slider-active-handle-color: var(--pst-color-primary);
}
html[data-theme="dark"] .course-demo .widget-html-content,
html[data-theme="dark"] .course-demo .widget-label,
html[data-theme="dark"] .course-demo .widget-readout { color: var(--pst-color-text-base); }
html[data-theme="dark"] .course-demo .widget-toggle-button,
html[data-theme="dark"] .course-demo select { background-color: var(--pst-color-surface); color: var(--pst-color-text-base); }
html[data-theme="dark"] .course-demo .widget-toggle-button.mod-active { background-color: var(--pst-color-border); }
html[data-theme="dark"] .bd-content div.cell_output .course-demo img.widget-image {
  background: #fff; padding: 0; border-radius: 6px; filter: none;
}
"""


def _write_css(app, config):
    folder = Path(app.confdir) / "_build" / "assets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CSS_NAME
    if not path.is_file() or path.read_text(encoding="utf-8") != CSS:
        path.write_text(CSS, encoding="utf-8")


def setup(app):
    app.connect("config-inited", _write_css)
    app.add_css_file(CSS_NAME)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
