"""The book's editions: each page links to the same page in the other languages.

The English edition is at ``_build/html/``; every other edition (``course_utils.languages``) is
in a folder of its own under it (``_build/html/zh_CN/``), with the same page names, so a
page's twin is found by its name alone. The link sits in the page header, next to the
sidebar's toggle (template ``templates/language-twin.html`` beside this file).

What else each edition needs:

- Display maths is the same in every language: a ``$$ ... $$`` block is not a message of
  the catalogues (inline maths, part of a paragraph, is; its translation keeps it as it is).
- A translated heading that starts with its number ("1. 临界点") is a heading, not a list:
  Sphinx parses the translation of a heading as the text with a line of ``=`` under it,
  which in Markdown makes "1. ..." a numbered list holding a heading, and Sphinx then keeps
  the English. :func:`_publish_msgstr` escapes such a number ("1\\. 临界点") before parsing.
  No English paragraph or heading starts with a list marker (it would be a list item), so
  no translation is meant to.
- A glued number in a translated paragraph is the chapter's own: MyST-NB's glue roles find
  a notebook's data only while the notebook is parsed, and Sphinx parses a translation later,
  on its own; so :func:`_publish_msgstr` names the notebook in each glue role of a
  translation (``{glue:text}`key:.3f``` becomes ``{glue:text}`/notebooks/00_training_recipe.ipynb::key:.3f```),
  which MyST-NB then fills from the glue data it saved for that notebook.
- The demos' titles and control labels (a slider's "learning rate η", a choice's "Adam") are in the
  widget state each chapter embeds, not in its paragraphs: the gettext build writes them to
  one more template, ``widgets.pot`` (:func:`widget_labels`), whose catalogue
  ``widgets.po`` translates them in every chapter's embedded state as the page is read
  (:func:`translate_widget_state`). The frames and readouts are the English outputs.
- MyST-NB writes the executed notebooks and their images next to the HTML folder
  (``_build/jupyter_execute``); an edition inside ``_build/html/`` would get that folder in
  the published site, so each edition has its own, beside the English one.
"""
import html
import json
import re
from pathlib import Path

from docutils import nodes
from sphinx.transforms import SphinxTransform, i18n

from course_utils.languages import LANGUAGES

HERE = Path(__file__).resolve().parent
BUILD = HERE.parents[1] / "_build"


class MathIsNotTranslated(SphinxTransform):
    """Leave display maths out of the catalogues: it reads the same in every language."""
    default_priority = 10  # before Sphinx's Locale transform (20) and its message extraction

    def apply(self):
        for node in self.document.findall(nodes.math_block):
            node["translatable"] = False


_LIST_MARKER = re.compile(r"^(\d{1,9})([.)])(?=\s)|^([-+*])(?=\s)")
_sphinx_publish_msgstr = i18n.publish_msgstr


_GLUE_ROLE = re.compile(r"\{(glue(?::\w+)?)\}`(?![^`]*::)([^`]+)`")


def _with_format(role, text):
    """A glue:text role's key with its format ("s" where none is given): MyST-NB splits the
    format off at the last colon, which would otherwise cut the notebook's ``::``."""
    return text if role != "glue:text" or ":" in text else f"{text}:s"


def escape_list_marker(text):
    """``text`` with a leading list marker ("1.", "2)", "-", "+", "*" and a space) escaped."""
    return _LIST_MARKER.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text, count=1)


def glue_from(text, notebook):
    """``text`` with every glue role that names no notebook naming ``notebook`` (``/notebooks/x.ipynb``)."""
    return _GLUE_ROLE.sub(lambda m: f"{{{m[1]}}}`{notebook}::{_with_format(m[1], m[2])}`", text)


def _publish_msgstr(app, source, source_path, *args, **kwargs):
    """Sphinx's parse of a translation, with a leading list marker read as text and each glue
    role naming its notebook."""
    source = escape_list_marker(source)
    if str(source_path).endswith(".ipynb"):
        notebook = "/" + Path(source_path).resolve().relative_to(Path(app.srcdir).resolve()).as_posix()
        source = glue_from(source, notebook)
    return _sphinx_publish_msgstr(app, source, source_path, *args, **kwargs)


WIDGET_CATALOGUE = "widgets"   # widgets.pot / widgets.po: the demos' control labels
# What a reader sees of a control in the static book: its label, its choices, their tooltips.
_LABEL_KEYS = ("description", "_options_labels", "tooltips", "tooltip")
# A demo's title: an HTML widget whose whole value is one bold text.
_TITLE = re.compile(r"<b>([^<>]*)</b>")


def _title(state):
    """The text of a demo's title widget (HTML unescaped), or None for any other widget."""
    if state.get("_model_name") == "HTMLModel" and isinstance(state.get("value"), str):
        match = _TITLE.fullmatch(state["value"])
        if match:
            return html.unescape(match.group(1))
    return None


def _labels(state):
    title = _title(state)
    if title and re.search(r"[A-Za-z]{2}", title):
        yield "value", title
    for key in _LABEL_KEYS:
        value = state.get(key)
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and re.search(r"[A-Za-z]{2}", text):
                yield key, text


def widget_labels(widget_state):
    """Every control label and demo title of an embedded widget state (its JSON as a dict) that has
    words, in order."""
    seen = []
    for model in widget_state.get("state", {}).values():
        for _, text in _labels(model.get("state", {})):
            if text not in seen:
                seen.append(text)
    return seen


def translate_widget_state(widget_state, translations):
    """The widget state with each control label found in ``translations`` replaced (a copy)."""
    state = json.loads(json.dumps(widget_state))
    for model in state.get("state", {}).values():
        fields = model.get("state", {})
        title = _title(fields)
        if title in translations:
            fields["value"] = f"<b>{html.escape(translations[title])}</b>"
        for key in _LABEL_KEYS:
            value = fields.get(key)
            if isinstance(value, list):
                fields[key] = [translations.get(text, text) if isinstance(text, str) else text for text in value]
            elif isinstance(value, str):
                fields[key] = translations.get(value, value)
    return state


def _embedded_state(app, docname):
    """(kwargs of the page's widget-state script, its state) or (None, None); MyST-NB keeps it per page."""
    from myst_nb.sphinx_ import NbMetadataCollector

    entry = NbMetadataCollector.get_js_files(app.env, docname).get("ipywidgets_state")
    if not entry or "body" not in entry[1]:
        return None, None
    return entry[1], json.loads(entry[1]["body"])


def _widget_catalogues(app):
    return [path for folder in app.config.locale_dirs
            if (path := Path(app.srcdir) / folder / app.config.language / "LC_MESSAGES" / f"{WIDGET_CATALOGUE}.po").is_file()]


def _widget_translations(app):
    """{label: translation} from this language's widgets.po (translated and not fuzzy)."""
    if not hasattr(app, "_widget_translations"):
        from babel.messages.pofile import read_po

        found = {}
        for path in _widget_catalogues(app):
            with open(path, "rb") as file:
                found.update({m.id: m.string for m in read_po(file) if m.id and m.string and not m.fuzzy})
        app._widget_translations = found
    return app._widget_translations


def _translate_demos(app, doctree):
    if (app.config.language or "en") == "en":
        return
    kwargs, state = _embedded_state(app, app.env.docname)
    if state is not None:
        for path in _widget_catalogues(app):   # a new translation of a label: the page is read again
            app.env.note_dependency(str(path))
        translated = translate_widget_state(state, _widget_translations(app))
        kwargs["body"] = json.dumps(translated).replace("</script>", r"<\/script>")


def _write_widget_template(app, exception):
    """After a gettext build: ``widgets.pot``, every demo control label of the book, chapter by chapter
    (in each, alphabetically: the order of the models in a widget state changes from run to run)."""
    if exception is not None or app.builder.name != "gettext":
        return
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(project=app.config.project, fuzzy=False)
    for docname in sorted(app.env.found_docs):
        _, state = _embedded_state(app, docname)
        for label in sorted(widget_labels(state or {}), key=str.casefold):   # the state's order varies
            if label not in catalog:
                catalog.add(label, auto_comments=[f"a demo title or control in {docname}"])
    with open(Path(app.outdir) / f"{WIDGET_CATALOGUE}.pot", "wb") as file:
        write_po(file, catalog, width=76, omit_header=False, no_location=True)


def twin_links(language, pagename, built):
    """[(language, label, relative URL)] of the page ``pagename`` in every other built edition."""
    depth = pagename.count("/")
    to_top = "../" * (depth + (language != "en"))  # from this page up to _build/html/
    return [(other, name, f"{to_top}{'' if other == 'en' else other + '/'}{pagename}.html")
            for other, (name, _) in LANGUAGES.items() if other != language and other in built]


def _add_context(app, pagename, templatename, context, doctree):
    context["language_twins"] = twin_links(app.config.language or "en", pagename, app.builder.language_editions)
    context["language_short"] = {language: short for language, (_, short) in LANGUAGES.items()}


def _builder_inited(app):
    language = app.config.language or "en"
    app.builder.language_editions = set(app.config.language_editions) & set(LANGUAGES)
    if language != "en" and hasattr(app.env, "mystnb_config"):
        folder = BUILD / f"jupyter_execute-{language}"
        app.env.mystnb_config = app.env.mystnb_config.copy(output_folder=str(folder))


def translated_title(title, catalogue_paths):
    """The translation of the book's title (the root page's heading) in these catalogues, or None."""
    from babel.messages.pofile import read_po

    for path in catalogue_paths:
        with open(path, "rb") as file:
            message = read_po(file).get(title)
        if message is not None and message.string and not message.fuzzy:
            return message.string
    return None


def _catalogue_paths(app, config, language):
    return [path for folder in config.locale_dirs
            for path in sorted((Path(app.srcdir) / folder / language / "LC_MESSAGES").rglob("*.po"))]


def _translate_toctree_captions(app, doctree):
    """The sidebar's section captions (_toc.yml's ``caption``) in the edition's language.

    sphinx-external-toc inserts the toctrees after Sphinx's own translation step, so their
    captions, though extracted into the root page's catalogue, would stay English."""
    from sphinx import addnodes

    language = app.config.language or "en"
    if language == "en":
        return
    catalogues = None
    for toctree in doctree.findall(addnodes.toctree):
        caption = toctree.get("caption")
        if caption:
            catalogues = catalogues or _catalogue_paths(app, app.config, language)
            toctree["caption"] = translated_title(caption, catalogues) or caption


def _config_inited(app, config):
    language = config.language or "en"
    if language != "en" and config.html_title:
        # The title in the navigation bar and every page's <title>: the root page's translated heading.
        catalogues = _catalogue_paths(app, config, language)
        config.html_title = translated_title(config.html_title, catalogues) or config.html_title
    config.templates_path = list(config.templates_path) + [str(HERE / "templates")]
    config.html_static_path = list(config.html_static_path) + [str(HERE / "static")]
    options = dict(config.html_theme_options or {})
    # After the sidebar toggle, at the left of the article header (the right holds the buttons,
    # and an item there wraps above them, under the page's top bar).
    start = options.get("article_header_start", ["toggle-primary-sidebar.html"])
    start = [start] if isinstance(start, str) else list(start)
    if "language-twin.html" not in start:
        options["article_header_start"] = start + ["language-twin.html"]
    config.html_theme_options = options


def setup(app):
    i18n.publish_msgstr = _publish_msgstr
    app.add_transform(MathIsNotTranslated)
    # The editions built together (editions.py sets it); a change rewrites every page's links.
    app.add_config_value("language_editions", [], "html", types=[list, tuple])
    app.connect("config-inited", _config_inited)
    app.connect("builder-inited", _builder_inited, priority=900)  # after MyST-NB's (500)
    app.connect("html-page-context", _add_context)
    app.add_css_file("languages.css")
    app.connect("doctree-read", _translate_demos)
    app.connect("doctree-read", _translate_toctree_captions)
    app.connect("build-finished", _write_widget_template)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
