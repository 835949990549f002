"""The internal assessment team in a real browser: penilai lands on the queue, opens a sampled
assessment, decides answers that save as they are chosen, and a second tab's stale choice is
refused with a message while its screen keeps what was chosen; finishing shows the verified
index. On a 1366 px desktop and a 360 px phone, with axe-core and the sideways-scroll check."""

import pytest

from assessments.models import Verification

from .browser import assert_accessible, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1366, 360])
def test_penilai_verifies_a_sampled_assessment(live_server, demo, page_factory, width):
    page = page_factory(width=width)
    log_in(page, live_server.url, "penilai")
    assert page.url.endswith("/tim-penilai/")
    assert "terverifikasi" in page.locator("[data-testid=progress]").inner_text()
    assert_accessible(page)
    found = Verification.objects.filter(state="pending").order_by("pk").first()
    page.goto(f"{live_server.url}/tim-penilai/{found.pk}/")
    assert_accessible(page)
    other = page.context.new_page()
    other.goto(f"{live_server.url}/tim-penilai/{found.pk}/")

    page.locator("input[type=radio][value=agree]").first.check()
    page.locator("#autosave-status", has_text="Tersimpan").wait_for()
    assert Verification.objects.get(pk=found.pk).items.filter(decision="agree").count() == 1

    other.locator("input[type=radio][value=adjust]").first.check()
    other.locator("#autosave-status", has_text="tab lain").wait_for()
    assert other.locator("input[type=radio][value=adjust]").first.is_checked()  # kept on screen
    assert not Verification.objects.get(pk=found.pk).items.filter(decision="adjust").exists()

    page.click("button[value=agree_rest]")
    page.locator("text=Keputusan disimpan.").wait_for()
    page.click("button[value=complete]")
    page.wait_for_url(f"{live_server.url}/tim-penilai/")
    assert "Verifikasi selesai: indeks terverifikasi" in page.content()
    assert Verification.objects.get(pk=found.pk).state == "done"
