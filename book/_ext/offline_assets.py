"""Serve MathJax 3 and the Jupyter widgets HTML manager from the built book.

The default Jupyter Book pages load both from CDNs, so maths and widgets break
offline. `make assets` installs them from package registries into
``_build/assets/vendor/`` (never committed); this extension adds that folder to
``html_static_path`` and points MathJax and myst-nb at the local copies.

We do not use a ``_static/`` folder in the book root: Jupyter Book 1 would add
every .js and .css file in it to every page.
"""
from pathlib import Path

from sphinx.errors import ConfigError

ASSETS = Path("_build") / "assets"
REQUIRED = {
    "vendor/mathjax/tex-chtml.js": "MathJax 3 (the PyPI package django-static-mathjax)",
    "vendor/require/require.js": "require.js (npm package requirejs)",
    "vendor/html-manager/embed-amd.js": "the widgets HTML manager (npm package @jupyter-widgets/html-manager)",
}


def _use_local_assets(app, config):
    assets = Path(app.confdir) / ASSETS
    missing = [what for rel, what in REQUIRED.items() if not (assets / rel).is_file()]
    if missing:
        raise ConfigError(
            "The book's offline assets are missing: " + "; ".join(missing)
            + f" (looked in {assets}). Build the book with `make book`, which installs them "
            "(or run `make assets` first)."
        )
    config.html_static_path = list(config.html_static_path) + [str(assets)]
    config.mathjax_path = "vendor/mathjax/tex-chtml.js"
    # Paths are relative to _static/. The widget CDN points inside the book too: every
    # widget we use is built into the manager, so nothing is ever fetched from it, and a
    # lookup that did happen would stay on the book's own server.
    config.nb_ipywidgets_js = {
        "vendor/require/require.js": {},
        "vendor/html-manager/embed-amd.js": {"data-jupyter-widgets-cdn": "_static/vendor/widgets-cdn/"},
    }


def setup(app):
    app.connect("config-inited", _use_local_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
