"""The Chinese editions: every paragraph translated and current, the tools that keep it so, the built pages.

The English notebooks and pages are the only source; the Chinese text is in the catalogues
``book/locales/zh_CN/LC_MESSAGES/<page>.po`` (``book/_ext/catalogues.py``), and ``make book``
builds ``_build/html/zh_CN/`` and ``_build/html/zh_TW/`` from them (``book/_ext/editions.py``).
A paragraph left untranslated, marked fuzzy (its English changed since), or missing from its
catalogue (the English changed and ``make translations`` was not run) fails a test here that
names the catalogue and the paragraph.
"""
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from conftest import toc_pages

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))

import catalogues  # noqa: E402
import languages  # noqa: E402

LANGUAGE = catalogues.SOURCE_LANGUAGE
CATALOGUES = catalogues.catalogue_paths(LANGUAGE)
PAGES = toc_pages()
CJK = re.compile(r"[\u4e00-\u9fff]")


def _listing(left):
    return "\n".join(f"  {why}: {msgid[:120]!r}" for _, msgid, why in left)


def test_every_page_has_a_catalogue():
    """One per page, and one more for the demos' control labels (widgets.po)."""
    pages = {catalogues.page_of(path, LANGUAGE) for path in CATALOGUES}
    assert pages == set(PAGES) | {languages.WIDGET_CATALOGUE}, (
        f"catalogues missing for {sorted(set(PAGES) - pages)}, or left for pages no longer in the book: "
        f"{sorted(pages - set(PAGES))} (make translations writes the missing ones)")


@pytest.mark.parametrize("path", CATALOGUES, ids=[catalogues.page_of(p, LANGUAGE) for p in CATALOGUES])
def test_every_paragraph_is_translated(path):
    left = [entry for entry in catalogues.pending(LANGUAGE) if entry[0] == path]
    assert not left, (f"{path.relative_to(REPO)}: {len(left)} paragraph(s) not translated (the Chinese page shows "
                      f"the English), or fuzzy (the English changed since: check the translation, then delete "
                      f"the '#, fuzzy' line):\n{_listing(left)}")


def test_catalogues_hold_the_current_english(built_book, tmp_path):
    """Extract the English as `make translations` does; every paragraph must be in its page's catalogue."""
    out = tmp_path / "gettext"
    result = subprocess.run([sys.executable, "book/_ext/editions.py", "gettext", "-W", "--keep-going", "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=900,
                            env={**os.environ, "COURSE_BOOK_BUILD": "1"})
    assert result.returncode == 0, f"extracting the English text failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    stale = []
    for page, template in catalogues.templates(out).items():
        path = catalogues.catalogue_dir(LANGUAGE) / f"{page}.po"
        known = {message.id for message in catalogues.read(path)} if path.exists() else set()
        stale += [f"  {path.relative_to(REPO)}: {message.id[:120]!r}" for message in template
                  if message.id and message.id not in known]
    assert not stale, ("paragraphs of the English with no entry in their catalogue (the English changed; run "
                       "`make translations`, then translate the paragraphs it marks):\n" + "\n".join(stale))


# -- the tools ------------------------------------------------------------------------------------------------


def _template(folder, page, ids):
    catalog = Catalog(fuzzy=False)
    for msgid in ids:
        catalog.add(msgid)
    catalogues.write(folder / f"{page}.pot", catalog)


def _messages(path):
    return {m.id: m for m in catalogues.read(path) if m.id}


def test_merge_marks_a_changed_paragraph_fuzzy_and_adds_a_new_one_untranslated(tmp_path):
    templates, locales = tmp_path / "gettext", tmp_path / "locales"
    _template(templates, "notebooks/ch", ["The loss stops going down.", "Saddle points are everywhere in high dimensions."])
    assert catalogues.merge(LANGUAGE, templates, locales)
    po = catalogues.catalogue_dir(LANGUAGE, locales) / "notebooks" / "ch.po"
    catalog = catalogues.read(po)
    catalog["The loss stops going down."].string = "损失不再下降。"
    catalog["Saddle points are everywhere in high dimensions."].string = "在高维空间中鞍点随处可见。"
    catalogues.write(po, catalog)

    _template(templates, "notebooks/ch", ["The loss stops going down.", "Saddle points are common in high dimensions.",
                                          "A new paragraph.", "`train_loss`"])
    report = catalogues.merge(LANGUAGE, templates, locales)
    messages = _messages(po)
    assert not messages["The loss stops going down."].fuzzy
    assert messages["The loss stops going down."].string == "损失不再下降。"
    changed = messages["Saddle points are common in high dimensions."]
    assert changed.fuzzy and changed.string == "在高维空间中鞍点随处可见。"   # the old translation, to check
    assert messages["A new paragraph."].string == ""
    assert messages["`train_loss`"].string == "`train_loss`"   # nothing to translate
    assert "Saddle points are everywhere in high dimensions." not in messages   # kept only as obsolete
    assert any("1 untranslated, 1 fuzzy" in line for line in report), report

    left = catalogues.pending(LANGUAGE, locales)
    assert {(path, msgid, why) for path, msgid, why in left} == {
        (po, "Saddle points are common in high dimensions.", "fuzzy"), (po, "A new paragraph.", "untranslated")}


def test_merge_with_nothing_changed_rewrites_no_file(tmp_path):
    templates, locales = tmp_path / "gettext", tmp_path / "locales"
    _template(templates, "book/page", ["One paragraph."])
    catalogues.merge(LANGUAGE, templates, locales)
    po = catalogues.catalogue_dir(LANGUAGE, locales) / "book" / "page.po"
    before = po.stat().st_mtime_ns
    assert catalogues.merge(LANGUAGE, templates, locales) == []
    assert po.stat().st_mtime_ns == before   # Sphinx would re-read every page of a newer catalogue


@pytest.mark.parametrize("msgid, needs", [
    ("`--out`", False), ("0.45797", False), ("鞍点", False), ("$\\theta_i^t$, $g_i^t$", False),
    ("{glue:text}`overfit_ratio:.0f`", False), ("120 s", True), ("the sample code", True),
    ("批量归一化 (also 批次标准化)", True)])
def test_a_message_needs_translating_when_it_has_english_words(msgid, needs):
    assert catalogues.needs_translation(msgid) is needs


def test_traditional_chinese_is_converted_phrase_by_phrase_with_the_fuzzy_marks(tmp_path):
    source, target = tmp_path / "src", tmp_path / "dst"
    po = catalogues.catalogue_dir("zh_CN", source) / "book" / "page.po"
    catalog = Catalog(locale="zh_CN", fuzzy=False)
    catalog.add("Software and memory.", "软件和内存。")
    catalog.add("Learning rate.", "学习率。", flags=["fuzzy"])
    catalog.add("Terms.", "超参数、局部最小值、全局最小值、损失函数、激活函数、最优化和网络的数据。")
    catalogues.write(po, catalog)
    [written] = catalogues.convert("zh_TW", "zh_CN", source, target)
    messages = _messages(written)
    assert messages["Software and memory."].string == "軟體和記憶體。"   # Taiwan's words, not 軟件和內存
    assert messages["Learning rate."].string == "學習率。" and messages["Learning rate."].fuzzy
    # The course's terms as Taiwan's machine-learning texts write them, not OpenCC's computing
    # words (超引數, 區域性最小值, 損失函式, 最最佳化); its other Taiwan words are kept (網路, 資料).
    assert messages["Terms."].string == "超參數、局部最小值、全域最小值、損失函數、激活函數、最佳化和網路的資料。"
    assert catalogues.convert("zh_TW", "zh_CN", source, target) == []   # unchanged: not rewritten


# -- what the book's extension does to a translation -----------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("1. 临界点", "1\\. 临界点"), ("12) 小节", "12\\) 小节"), ("- 列表", "\\- 列表"),
    ("1.5 倍", "1.5 倍"), ("*强调* 文字", "*强调* 文字"), ("第 1. 节", "第 1. 节")])
def test_a_translated_heading_that_starts_with_its_number_is_not_a_list(text, expected):
    assert languages.escape_list_marker(text) == expected


def test_glue_roles_of_a_translation_name_their_notebook():
    text = "损失 {glue:text}`a:.3f`，{glue:text}`b`，{glue}`c`，{glue:text}`/other.ipynb::d:.1f`"
    assert languages.glue_from(text, "/notebooks/00.ipynb") == (
        "损失 {glue:text}`/notebooks/00.ipynb::a:.3f`，{glue:text}`/notebooks/00.ipynb::b:s`，"
        "{glue}`/notebooks/00.ipynb::c`，{glue:text}`/other.ipynb::d:.1f`")


def test_demo_control_labels_are_found_and_translated_in_the_embedded_state():
    state = {"state": {
        "a": {"model_name": "SelectionSliderModel", "state": {"description": "learning rate η",
                                                               "_options_labels": ["0.1", "0.3"]}},
        "b": {"model_name": "ToggleButtonsModel", "state": {"description": "", "_options_labels": ["SGD", "Adam"],
                                                            "tooltips": ["plain gradient descent", "Adam"]}},
        "c": {"model_name": "HTMLModel", "state": {"value": "loss 0.25", "description": "η"}},
        "d": {"model_name": "HTMLModel", "state": {"_model_name": "HTMLModel",
                                                   "value": "<b>AdaGrad&#x27;s bursts &amp; schedules</b>"}}}}
    assert languages.widget_labels(state) == ["learning rate η", "SGD", "Adam", "plain gradient descent",
                                              "AdaGrad's bursts & schedules"]   # the demo's title, as shown
    translated = languages.translate_widget_state(state, {"learning rate η": "学习率 η", "plain gradient descent": "普通梯度下降",
                                                          "AdaGrad's bursts & schedules": "AdaGrad 的<突增>"})
    assert translated["state"]["d"]["state"]["value"] == "<b>AdaGrad 的&lt;突增&gt;</b>"   # escaped as HTML
    assert translated["state"]["a"]["state"] == {"description": "学习率 η", "_options_labels": ["0.1", "0.3"]}
    assert translated["state"]["b"]["state"]["tooltips"] == ["普通梯度下降", "Adam"]
    assert translated["state"]["c"] == state["state"]["c"]   # readouts are outputs: the same in every edition
    assert state["state"]["a"]["state"]["description"] == "learning rate η"   # the English state is not changed


def test_twin_links_lead_to_the_same_page_in_each_other_edition():
    built = {"en", "zh_CN", "zh_TW"}
    assert languages.twin_links("en", "notebooks/01_x", built) == [
        ("zh_CN", "简体中文", "../zh_CN/notebooks/01_x.html"), ("zh_TW", "繁體中文", "../zh_TW/notebooks/01_x.html")]
    assert languages.twin_links("zh_TW", "index", built) == [
        ("en", "English", "../index.html"), ("zh_CN", "简体中文", "../zh_CN/index.html")]
    assert languages.twin_links("en", "index", {"en"}) == []


# -- the built editions ------------------------------------------------------------------------------------------


def _page(root, docname):
    from bs4 import BeautifulSoup

    path = root / f"{docname}.html"
    assert path.is_file(), f"{path} was not built"
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _heading(soup):
    heading = soup.find("h1")
    return " ".join(t for t in heading.find_all(string=True) if t.parent.name != "a" or "headerlink" not in
                    (t.parent.get("class") or [])).strip()


@pytest.mark.parametrize("docname", PAGES)
def test_each_page_links_to_its_twins_in_every_edition(built_book, docname):
    roots = {"en": built_book.html, "zh_CN": built_book.html / "zh_CN", "zh_TW": built_book.html / "zh_TW"}
    for language, root in roots.items():
        soup = _page(root, docname)
        assert soup.find("html").get("lang") == language.replace("_", "-")
        links = {a["hreflang"]: a["href"] for a in soup.select("a.language-twin")}
        assert set(links) == {other.replace("_", "-") for other in roots if other != language}, (language, links)
        for href in links.values():
            target = (root / docname).parent / href
            assert target.resolve().is_file(), f"{root / docname}.html links to {href}, which does not exist"


@pytest.mark.parametrize("docname", PAGES)
def test_chinese_page_shows_its_translated_heading(built_book, docname):
    english = _heading(_page(built_book.html, docname))
    simplified = _heading(_page(built_book.html / "zh_CN", docname))
    traditional = _heading(_page(built_book.html / "zh_TW", docname))
    catalog = catalogues.read(catalogues.catalogue_dir(LANGUAGE) / f"{docname}.po")
    message = next((m for m in catalog if m.id and m.id.replace("*", "").replace("`", "") == english), None)
    assert message is not None, f"the heading {english!r} of {docname} is in no message of its catalogue"
    if message.string and not message.fuzzy:
        assert CJK.search(simplified), f"{docname}: the Chinese heading is {simplified!r}"
        assert simplified != english
        from course_utils.languages import traditional_chinese

        assert traditional == traditional_chinese(simplified)
    else:
        assert simplified == english   # untranslated: the English, never an empty heading
    assert html.unescape(simplified)


def test_chinese_editions_carry_the_translated_book_title(built_book):
    english = _heading(_page(built_book.html, PAGES[0]))   # the root page's heading is the book's title
    title = languages.translated_title(english, CATALOGUES)
    assert title, f"the book's title {english!r} has no translation in {LANGUAGE}'s catalogues"
    for docname in PAGES:
        soup = _page(built_book.html / "zh_CN", docname)
        assert soup.title.get_text().strip().endswith(title), f"{docname}: <title> is {soup.title.get_text()!r}"


def test_chinese_sidebars_show_translated_section_captions(built_book):
    english = [span.get_text() for span in _page(built_book.html, PAGES[0]).select("p.caption span.caption-text")]
    assert english, "the English sidebar has no section captions"
    expected = [languages.translated_title(caption, CATALOGUES) for caption in english]
    assert all(expected), f"captions without a translation in {LANGUAGE}'s catalogues: {english}"
    for docname in PAGES:
        shown = [span.get_text() for span in _page(built_book.html / "zh_CN", docname)
                 .select("p.caption span.caption-text")]
        assert shown == expected, f"{docname}: the Chinese sidebar's captions are {shown}"


def test_chinese_chapters_embed_their_demos_with_translated_labels(built_book):
    from bs4 import BeautifulSoup

    translations = {m.id: m.string for m in catalogues.read(catalogues.catalogue_dir(LANGUAGE) / "widgets.po")
                    if m.id and m.string and not m.fuzzy}
    shown = 0
    for docname in [page for page in PAGES if page.startswith("notebooks/")]:
        states = []
        for root in (built_book.html, built_book.html / "zh_CN"):
            soup = BeautifulSoup((root / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")
            script = soup.find("script", type="application/vnd.jupyter.widget-state+json")
            states.append(json.loads(script.string) if script else None)
        english, chinese = states
        if english is None:
            assert chinese is None
            continue
        assert chinese == languages.translate_widget_state(english, translations), docname
        shown += sum(label in translations for label in languages.widget_labels(english))
    assert shown, "no demo label of the book is translated in widgets.po"
