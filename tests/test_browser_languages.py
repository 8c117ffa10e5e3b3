"""The Chinese edition in a real browser: a reader clicks a chapter's 简体中文 link and gets the same
chapter in Chinese, in a Chinese font, with demos that still respond (the same frames as in English).

Kept beside ``test_browser.py`` (whose page visit it reuses) so that the Chinese pages are opened
only by this test.
"""
import re
import subprocess

import pytest

from test_browser import SCREENSHOTS, _visit

pytestmark = pytest.mark.browser

CHAPTER = "notebooks/01_critical_points"   # a chapter with demos
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_a_chinese_font_is_installed():
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    assert fonts.strip(), "no font covers Chinese, so chromium draws empty boxes: run `make chromium` (fonts-noto-cjk)"


def test_chapter_links_to_its_chinese_twin_with_chinese_text_and_working_demos(browser, book_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{book_url}{CHAPTER}.html", wait_until="load")
        english = page.locator("main h1").first.inner_text()
        link = page.locator('a.language-twin[hreflang="zh-CN"]')
        assert link.is_visible(), "the chapter's header shows no 简体中文 link"
        link.click()
        page.wait_for_url(f"{book_url}zh_CN/{CHAPTER}.html")
        heading = page.locator("main h1").first.inner_text()
        text = page.locator("main").inner_text()
        assert CJK.search(heading) and heading != english, f"the Chinese chapter's heading is {heading!r}"
        assert len(CJK.findall(text)) > 1000, "the Chinese chapter shows little Chinese text"
        page.locator('a.language-twin[hreflang="en"]').click()
        page.wait_for_url(f"{book_url}{CHAPTER}.html")
        assert page.locator("main h1").first.inner_text() == english
    finally:
        context.close()

    SCREENSHOTS.mkdir(exist_ok=True)
    report = _visit(browser, f"{book_url}zh_CN/{CHAPTER}.html", SCREENSHOTS / "zh_CN__notebooks__01_critical_points.png")
    assert not report.problems, report.problems
    assert not report.errors, f"JavaScript errors on the Chinese page: {report.errors}"
    assert not report.failed and not report.external, (report.failed, report.external)
    assert report.expected_sliders and len(report.sliders) == report.expected_sliders
    stuck = [s["label"] for s in report.sliders if not (s["changed"] and s["loaded"])]
    assert not stuck, f"demo sliders on the Chinese page that did not change the figure: {stuck} (see {report.screenshot})"
