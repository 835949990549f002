"""The staff journey in a real browser (headless Chromium), on a 1366 px desktop and a 360 px
phone, with axe-core and the sideways-scroll check on every page it passes."""

import re

import pytest

from assessments.models import Rating, SelfAssessment

from .browser import assert_accessible, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1366, 360])
def test_pegawai_answers_half_reloads_finishes_submits_and_sees_the_chart(live_server, demo, page_factory, width):
    page = page_factory(width=width, height=800)
    log_in(page, live_server.url, "pegawai")
    assert page.url.endswith("/penilaian/")
    assert page.locator("text=Belum mulai").count() == 1
    assert_accessible(page)

    page.click("text=Mulai penilaian mandiri saya")
    # First the privacy notice of the period (the demo's pegawai has read none): who sees the
    # answers, why, how long; the button records it and opens the form.
    page.wait_for_url(re.compile(r"/privasi/pemberitahuan/\d{4}-Q\d/$"))
    assert "Kepala unit Anda dan kepala unit di atasnya membaca" in page.locator("[data-testid=notice]").inner_text()
    assert_accessible(page)
    page.click("text=Saya mengerti, lanjutkan")
    page.wait_for_url(re.compile(r"/penilaian/\d{4}-Q\d/isi/$"))
    assert "Privasi" in page.locator("[data-testid=visibility-line]").inner_text()
    assert_accessible(page)
    boxes = page.locator("fieldset.indicator")
    total = boxes.count()
    half = total // 2
    page.evaluate("window.__sameDocument = true")
    for i in range(half):
        boxes.nth(i).locator("label.btn", has_text="4").click()
    page.wait_for_selector("#autosave-status:has-text('tersimpan otomatis')")
    # Autosave happened in the background: same document, the last answer still focused.
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("#answered").inner_text() == str(half)
    assert page.evaluate("document.activeElement && document.activeElement.name") is not None
    saved = SelfAssessment.objects.get(employee__user__username="pegawai", state="draft")
    # Waited for with a selector, not a JavaScript predicate: the page's CSP forbids the eval
    # that Playwright's polling of a predicate needs (it failed once a wait was not instant).
    page.wait_for_selector("#autosave-status:not(:empty)")
    assert Rating.objects.filter(assessment=saved, score=4).count() == half

    page.reload()
    assert page.locator("input.btn-check:checked").count() == half  # the draft was kept
    # Submitting now says how many are missing and which, with the focus on the first link.
    page.click("button[value=submit]")
    page.wait_for_selector("#belum-lengkap")
    assert f"{total - half} belum dijawab" in page.locator("#belum-lengkap h2").inner_text()
    assert page.locator("#belum-lengkap li").count() == total - half
    page.wait_for_selector("#belum-lengkap :focus")
    first_missing = page.locator("#belum-lengkap a").first.get_attribute("href")
    assert first_missing == "#" + boxes.nth(half).get_attribute("id")
    assert_accessible(page)
    # The refused submit answers 400, which Chromium reports on the console; nothing else may.
    page.console_errors.remove("Failed to load resource: the server responded with a status of 400 (Bad Request)")
    for i in range(half, total):
        boxes.nth(i).locator("label.btn", has_text="4").click()
    page.click("button[value=submit]")
    page.wait_for_url(re.compile(r"/kirim/$"))
    assert page.locator("[data-testid=preview-index]").inner_text() == "75,0"
    assert_accessible(page)
    page.click("text=Kirim sekarang")
    page.wait_for_url(re.compile(r"/hasil/\d+/$"))
    assert page.locator("[data-testid=index]").inner_text() == "75,0"
    assert page.locator("[data-testid=visibility-line]").count() == 1
    page.wait_for_selector("canvas#pillar-chart[data-rendered=true]")
    assert page.evaluate("document.querySelector('#pillar-chart').width") > 0
    assert SelfAssessment.objects.get(pk=saved.pk).state == "submitted"
    assert_accessible(page)
    page.click("nav.site-nav >> text=Penilaian Saya")
    assert page.locator("[data-testid=history]").count() == 1
    page.wait_for_selector("canvas#my-trend-chart[data-rendered=true]")  # the index over the periods
    assert_accessible(page)
    page.click("nav.site-nav >> text=Data Saya")
    assert_accessible(page)
    # The footer's link: the Privasi page, which says what applies to the period just answered.
    page.click("footer >> text=Privasi: siapa yang melihat jawaban Anda")
    page.wait_for_url(re.compile(r"/privasi/$"))
    assert page.locator("[data-testid=period-mode]").inner_text() == "Ditinjau"
    assert_accessible(page)
    assert page.console_errors == []

    # Without JavaScript the result page has no empty chart card: the scores are a table.
    plain = page_factory(width=width, height=800, javascript=False)
    plain.context.add_cookies(page.context.cookies())
    plain.goto(f"{live_server.url}/hasil/{saved.pk}/")
    assert plain.locator(".chart-box").is_hidden()
    assert plain.locator("[data-testid=pillar-table] tbody tr").count() == 6
    assert plain.locator("[data-testid=pillar-table]").is_visible()
    # (axe needs JavaScript; this page was checked with it above.)
    assert plain.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
