"""Serve MathJax 3 and the Jupyter widgets HTML manager from the built book.

The default Jupyter Book pages load both from CDNs, so maths and widgets break
offline. `make assets` installs them from package registries into
``_build/assets/vendor/`` (never committed); this extension adds that folder to
``html_static_path`` and points MathJax and myst-nb at the local copies.

We do not use a ``_static/`` folder in the book root: Jupyter Book 1 would add
every .js and .css file in it to every page.
"""
import shutil
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


# The widgets HTML manager typesets widget labels with the MathJax 2 API (MathJax.Hub.Queue);
# the book loads MathJax 3, which has no Hub, so without this every demo page would throw
# "Cannot read properties of undefined (reading 'Queue')". Our own few lines, inline: they
# forward Hub.Queue to MathJax 3's typesetPromise once the deferred MathJax has run.
MATHJAX_HUB_SHIM = """
document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (mj && !mj.Hub && typeof mj.typesetPromise === "function") {
    mj.Hub = {Queue: function (job) {
      var element = Array.isArray(job) ? job[2] : undefined;
      mj.typesetPromise(element ? [element] : undefined).catch(function () {});
    }};
  }
});
"""


def _shim_after_mathjax(app, pagename, templatename, context, doctree):
    """Add the MathJax 2 → 3 shim on pages that have maths (the only pages that load MathJax)."""
    if app.builder.format == "html" and app.env.get_domain("math").has_equations(pagename):
        app.add_js_file(None, body=MATHJAX_HUB_SHIM, priority=501)


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """Jupyter Book 1 registers sphinx-thebe's inline config twice; the second copy throws
    ``Identifier 'THEBE_JS_URL' has already been declared`` on every page."""
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for script in scripts:
        key = (getattr(script, "filename", str(script)) or None, tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: later handlers append to this same list


def _copy_widget_fonts(app, exception):
    """The widget manager's CSS asks for its icon fonts relative to the page, at
    ``@jupyter-widgets/html-manager/dist/``: put a copy beside every folder of pages."""
    if exception or app.builder.format != "html":
        return
    dist = Path(app.confdir) / ASSETS / "vendor" / "html-manager"
    fonts = [f for f in dist.iterdir() if f.suffix in {".woff2", ".woff", ".ttf", ".eot", ".svg"}]
    outdir = Path(app.outdir)
    folders = {outdir} | {(outdir / doc).parent for doc in app.env.found_docs}
    for folder in folders:
        target = folder / "@jupyter-widgets" / "html-manager" / "dist"
        target.mkdir(parents=True, exist_ok=True)
        for font in fonts:
            shutil.copy2(font, target / font.name)


def setup(app):
    app.setup_extension("demo_style")  # the demos' CSS, served from the same assets folder
    app.connect("config-inited", _use_local_assets, priority=900)
    app.connect("html-page-context", _shim_after_mathjax, priority=600)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=590)  # before any handler that returns a template (emit_firstresult stops there)
    app.connect("build-finished", _copy_widget_fonts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
