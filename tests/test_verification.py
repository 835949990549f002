"""Verification by the internal assessment team: credibility signals on hand-made examples, the
sample (reproducible, stratified, a minimum per unit, flagged ones likelier), the decisions and
the verified index (equal to a hand computation), two tabs, and the team's scope."""

import datetime
import random
import re
from fractions import Fraction
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from assessments import credibility, permissions, services, verification
from assessments.errors import ServiceError, StaleDraft
from assessments.models import Rating, SelfAssessment, Verification, VerificationDraw, VerifiedRating, VerifierAssignment

from .conftest import make_employee, submitted_assessment

# --- Credibility signals on hand-made examples ---------------------------------------------------


def test_straight_lining():
    assert credibility.straight_lining([3] * 26)
    assert not credibility.straight_lining([3] * 25 + [4])
    assert not credibility.straight_lining([5])  # one answer says nothing


def test_uniform_top_scores_at_90_percent():
    assert credibility.uniform_top([5] * 9 + [4])  # 90 %
    assert not credibility.uniform_top([5] * 8 + [4, 4])  # 80 %
    assert not credibility.uniform_top([])


def test_too_fast_is_under_five_seconds_per_indicator():
    opened = timezone.now()
    assert credibility.too_fast(opened, opened + datetime.timedelta(seconds=129), 26)
    assert not credibility.too_fast(opened, opened + datetime.timedelta(seconds=130), 26)
    assert not credibility.too_fast(None, opened, 26)  # never opened through the form: unknown


def test_unjustified_extremes():
    assert credibility.unjustified_extremes([(5, False, True), (3, False, True)])
    assert not credibility.unjustified_extremes([(5, True, True)])  # a note or evidence
    assert not credibility.unjustified_extremes([(5, False, False)])  # not required there
    assert not credibility.unjustified_extremes([(4, False, True)])


def test_unit_far_above_the_others():
    means = [60, 61, 59, 60, 62, 58, 60, 61, 59, 95]
    assert credibility.unit_far_above(95, means)
    assert not credibility.unit_far_above(62, means)
    assert not credibility.unit_far_above(70, [70])  # alone: no spread


def test_unit_jump_over_15_points():
    assert credibility.unit_jump(80.1, 65)
    assert not credibility.unit_jump(80, 65)
    assert not credibility.unit_jump(80, None)
    signals = credibility.unit_signals({1: 95, 2: 60, 3: 61, 4: 59, 5: 60, 6: 62, 7: 58, 8: 60}, {2: 40})
    assert [s.code for s in signals[1]] == ["unit_high"] and [s.code for s in signals[2]] == ["unit_jump"]
    assert set(signals) == {1, 2}


def test_assessment_signals_of_a_straight_top_fast_submission(cast, period):
    assessment = submitted_assessment(cast.staff, period, 5)
    SelfAssessment.objects.filter(pk=assessment.pk).update(form_opened_at=assessment.submitted_at - datetime.timedelta(seconds=30))
    assessment.refresh_from_db()
    codes = {s.code for s in credibility.assessment_signals(assessment)}
    assert codes == {"straight", "top", "fast"}
    varied = submitted_assessment(cast.colleague, period, 3)
    Rating.objects.filter(pk=Rating.objects.filter(assessment=varied).order_by("pk").first().pk).update(score=4)
    assert credibility.assessment_signals(varied) == []


# --- The sample ---------------------------------------------------------------------------------


def test_sample_size():
    assert verification.sample_size(100, 0.2, 3) == 20
    assert verification.sample_size(10, 0.2, 3) == 3  # the minimum
    assert verification.sample_size(2, 0.2, 3) == 2  # all where there are fewer
    assert verification.sample_size(11, 0.2, 3) == 3  # ceil(2.2)
    assert verification.sample_size(16, 0.2, 3) == 4


def test_a_flagged_assessment_is_drawn_about_three_times_as_often():
    first = {1: 0, 2: 0}
    rng = random.Random(7)
    for _ in range(20000):
        first[verification.weighted_pick(rng, [1, 2], {1: 3}, 1)[0]] += 1
    assert 2.7 < first[1] / first[2] < 3.3  # weight 3 against 1


@pytest.fixture
def staffed(cast, period):
    """A1: staff, colleague and 8 more (10); B: other and 3 more (4); all submitted, then closed."""
    people = [cast.staff, cast.colleague] + [make_employee(f"a1-{i}", cast.tree.a1) for i in range(8)]
    people += [cast.other] + [make_employee(f"b-{i}", cast.tree.b) for i in range(3)]
    for i, person in enumerate(people):
        submitted_assessment(person, period, 2 + i % 3)
    return people


def test_the_sample_is_stratified_with_a_minimum_per_unit_and_reproducible(cast, period, staffed, settings):
    settings.VERIFICATION_SAMPLE_FRACTION = 0.2
    settings.VERIFICATION_SAMPLE_MIN = 3
    plan = verification.sample_plan(period=period, seed=42, fraction=0.2, minimum=3, flagged_weight=3)
    assert {unit: len(ids) for unit, ids in plan.items()} == {cast.tree.a1.pk: 3, cast.tree.b.pk: 3}
    assert plan == verification.sample_plan(period=period, seed=42, fraction=0.2, minimum=3, flagged_weight=3)
    others = [verification.sample_plan(period=period, seed=s, fraction=0.2, minimum=3, flagged_weight=3) for s in range(1, 6)]
    assert any(other != plan for other in others)
    draw = verification.sample_draw(period=period, seed=42)
    assert draw.seed == 42 and draw.drawn == 6
    queued = set(Verification.objects.filter(draw=draw).values_list("assessment_id", flat=True))
    assert queued == {pk for ids in plan.values() for pk in ids}
    for v in Verification.objects.filter(draw=draw).select_related("assessment"):
        assert v.unit_id == v.assessment.unit_id and v.origin == "sampled"
    # A second draw takes from what is not queued yet.
    again = verification.sample_draw(period=period, seed=42)
    assert not queued & set(Verification.objects.filter(draw=again).values_list("assessment_id", flat=True))
    assert VerificationDraw.objects.filter(period=period).count() == 2


def test_closing_a_period_draws_its_sample(cast, period, staffed):
    from assessments import periods

    periods.period_close(period=period)
    draw = VerificationDraw.objects.get(period=period)
    assert draw.drawn == 6 and draw.drawn_by is None
    assert Verification.objects.filter(period=period, origin="sampled").count() == 6


def test_a_draft_is_never_drawn(cast, period):
    services.assessment_save_draft(employee=cast.staff, period=period, answers={}, version=0, actor=cast.staff.user)
    assert verification.sample_draw(period=period, seed=1).drawn == 0


# --- Verifying ----------------------------------------------------------------------------------


def hand_index(period, scores_by_indicator: dict[int, int]) -> Fraction:
    """The index as PRODUCT.md defines it, computed here by hand from the frozen questionnaire."""
    pillar_scores = []
    for pillar in period.questionnaire():
        items = list(pillar.indicators.all())
        mean = Fraction(sum(Fraction(i.weight) * scores_by_indicator[i.pk] for i in items), sum(Fraction(i.weight) for i in items))
        pillar_scores.append((Fraction(pillar.weight), 25 * (mean - 1)))
    return sum(w * s for w, s in pillar_scores) / sum(w for w, _s in pillar_scores)


def test_agree_adjust_and_the_verified_index_equals_a_hand_computation(cast, period):
    assessment = submitted_assessment(cast.staff, period, 4)
    v = verification.verification_add(assessment=assessment, actor=cast.admin)
    ratings = list(Rating.objects.filter(assessment=assessment).order_by("pk"))
    adjusted = {ratings[0].pk: 2, ratings[5].pk: 1, ratings[-1].pk: 5}
    decisions = {r.pk: ("agree", None, "") for r in ratings}
    decisions |= {pk: ("adjust", score, "Bukti tidak mendukung") for pk, score in adjusted.items()}
    v = verification.decisions_save(verification=v, version=v.version, decisions=decisions, actor=cast.admin)
    v = verification.verification_complete(verification=v, version=v.version, actor=cast.admin)
    expected = hand_index(period, {r.indicator_id: adjusted.get(r.pk, 4) for r in ratings})
    assert v.state == "done" and v.index_score == pytest.approx(float(expected), abs=1e-9)
    assert v.pillar_scores.count() == len(period.questionnaire())
    assert SelfAssessment.objects.get(pk=assessment.pk).index_score == pytest.approx(75)  # the self score stays


def test_an_adjustment_needs_a_reason_and_asking_for_evidence_waits(cast, period):
    assessment = submitted_assessment(cast.staff, period, 4)
    v = verification.verification_add(assessment=assessment, actor=cast.admin)
    first = Rating.objects.filter(assessment=assessment).order_by("pk").first()
    with pytest.raises(ServiceError):
        verification.decisions_save(verification=v, version=v.version, decisions={first.pk: ("adjust", 2, " ")}, actor=cast.admin)
    v = verification.decisions_save(verification=v, version=v.version, decisions={first.pk: ("evidence", None, "Mohon unggah SK")}, actor=cast.admin)
    assert v.state == "evidence"
    with pytest.raises(ServiceError, match="memerlukan keputusan"):
        verification.verification_complete(verification=v, version=v.version, actor=cast.admin)
    assert VerifiedRating.objects.get(rating=first).reason == "Mohon unggah SK"


def test_two_tabs_the_later_save_is_refused(cast, period):
    assessment = submitted_assessment(cast.staff, period, 4)
    v = verification.verification_add(assessment=assessment, actor=cast.admin)
    first = Rating.objects.filter(assessment=assessment).order_by("pk").first()
    stale = v.version
    verification.decisions_save(verification=v, version=stale, decisions={first.pk: ("agree", None, "")}, actor=cast.admin)
    with pytest.raises(StaleDraft):
        verification.decisions_save(verification=v, version=stale, decisions={first.pk: ("adjust", 1, "x")}, actor=cast.admin)
    assert VerifiedRating.objects.get(rating=first).decision == "agree"


def test_a_rating_of_another_assessment_is_refused(cast, period):
    mine = submitted_assessment(cast.staff, period, 4)
    theirs = submitted_assessment(cast.colleague, period, 4)
    v = verification.verification_add(assessment=mine, actor=cast.admin)
    foreign = Rating.objects.filter(assessment=theirs).first()
    with pytest.raises(ServiceError):
        verification.decisions_save(verification=v, version=v.version, decisions={foreign.pk: ("agree", None, "")}, actor=cast.admin)
    assert not VerifiedRating.objects.exists()


# --- The team's scope ---------------------------------------------------------------------------


def verifier(username, unit):
    person = make_employee(username, unit)
    person.user.groups.add(Group.objects.get(name=permissions.VERIFIER_GROUP))
    VerifierAssignment.objects.create(user=person.user, unit=unit)
    return person


def test_a_team_member_reads_assessments_in_scope_in_both_modes(cast, period):
    assessment = submitted_assessment(cast.staff, period, 4)
    inside = verifier("penilai-a", cast.tree.a)
    outside = verifier("penilai-b", cast.tree.b)
    assert permissions.can_verify(inside.user, assessment) and permissions.can_view_assessment(inside.user, assessment)
    assert not permissions.can_verify(outside.user, assessment) and not permissions.can_view_assessment(outside.user, assessment)
    period.visibility = "confidential"
    period.save(update_fields=["visibility"])
    assessment.refresh_from_db()
    assert permissions.can_view_assessment(inside.user, assessment)
    assert not permissions.can_view_assessment(cast.supervisor.user, assessment)


def test_an_assignment_without_the_group_gives_nothing(cast, period):
    assessment = submitted_assessment(cast.staff, period, 4)
    person = make_employee("bukan-penilai", cast.tree.b)
    VerifierAssignment.objects.create(user=person.user, unit=cast.tree.root)
    assert not permissions.can_verify(person.user, assessment)


# --- The pages ----------------------------------------------------------------------------------


def test_the_queue_lists_the_scope_only_and_staff_and_supervisors_never_reach_it(cast, period, client):
    mine = submitted_assessment(cast.staff, period, 4)
    theirs = submitted_assessment(cast.other, period, 4)
    for assessment in (mine, theirs):
        verification.verification_add(assessment=assessment, actor=cast.admin)
    member = verifier("penilai", cast.tree.a)
    client.force_login(member.user)
    assert client.get("/").url == "/tim-penilai/"
    page = client.get("/tim-penilai/", {"periode": period.code}).content.decode()
    assert "Siti Staf" in page and "Oki Lain" not in page
    assert client.get(f"/tim-penilai/{theirs.verification.pk}/").status_code == 404
    for who in (cast.staff, cast.supervisor):
        client.force_login(who.user)
        assert client.get("/tim-penilai/").status_code == 404
        assert client.get(f"/tim-penilai/{mine.verification.pk}/").status_code == 404


def test_verifying_through_the_page_logs_the_view_and_keeps_input_on_a_stale_save(cast, period, client):
    from assessments.models import AccessLog

    assessment = submitted_assessment(cast.staff, period, 4)
    found = verification.verification_add(assessment=assessment, actor=cast.admin)
    member = verifier("penilai", cast.tree.root)
    client.force_login(member.user)
    page = client.get(f"/tim-penilai/{found.pk}/")
    assert page.status_code == 200 and AccessLog.objects.filter(viewer=member.user, action="verify", employee=cast.staff).exists()
    ratings = list(Rating.objects.filter(assessment=assessment).order_by("pk"))
    data = {"version": found.version, "action": "save"}
    data |= {f"decision_{r.pk}": "agree" for r in ratings}
    data |= {f"decision_{ratings[0].pk}": "adjust", f"score_{ratings[0].pk}": "2", f"reason_{ratings[0].pk}": "Tidak ada bukti"}
    assert client.post(f"/tim-penilai/{found.pk}/", data).status_code == 302
    stale = client.post(f"/tim-penilai/{found.pk}/", data | {f"reason_{ratings[0].pk}": "Alasan dari tab lain"})
    assert stale.status_code == 409 and "Alasan dari tab lain" in stale.content.decode()
    assert VerifiedRating.objects.get(rating=ratings[0]).reason == "Tidak ada bukti"
    fresh = Verification.objects.get(pk=found.pk)
    done = client.post(f"/tim-penilai/{found.pk}/", data | {"version": fresh.version, "action": "complete"})
    assert done.status_code == 302
    fresh.refresh_from_db()
    assert fresh.state == "done" and fresh.index_score < 75
    autosave = client.post(f"/tim-penilai/{found.pk}/", data | {"version": fresh.version}, headers={"X-Requested-With": "fetch"})
    assert autosave.status_code == 400  # finished: nothing changes any more


def verify_everything(found: Verification, score: int | None, actor) -> Verification:
    """Decide every answer (adjusted to `score`, or agreed when None) and finish."""
    ratings = Rating.objects.filter(assessment_id=found.assessment_id)
    decisions = {r.pk: ("adjust", score, "Bukti kurang") if score else ("agree", None, "") for r in ratings}
    found = verification.decisions_save(verification=found, version=found.version, decisions=decisions, actor=actor)
    return verification.verification_complete(verification=found, version=found.version, actor=actor)


def test_the_dashboard_shows_self_and_verified_figures_the_gap_and_the_flag(cast, period, client):
    from assessments import periods

    people = [cast.staff, cast.colleague] + [make_employee(f"a1-{i}", cast.tree.a1) for i in range(3)]
    for person in people:
        submitted_assessment(person, period, 4)
    periods.period_close(period=period)
    for assessment in SelfAssessment.objects.filter(period=period):
        found = verification.verification_add(assessment=assessment, actor=cast.admin)
        if found.state != "done":
            found = verify_everything(found, 3 if assessment.employee != cast.staff else None, cast.admin)
    client.force_login(cast.admin)
    page = client.get("/unit/A1/", {"periode": period.code}).content.decode()
    assert 'data-testid="verified-self">75,0<' in page
    assert 'data-testid="verified-mean">55,0<' in page  # (75 + 4 × 50) / 5
    assert 'data-testid="verified-gap">+20,0<' in page and 'data-testid="verified-flag"' in page
    rekap = client.get("/rekap/", {"periode": period.code}).content.decode()
    a1 = re.search(r'<tr data-unit="A1">(.*?)</tr>', rekap, re.S).group(1)
    assert re.search(r'data-col="verified">55,0 <small class="text-muted">\(5\)</small>', a1) and 'data-testid="gap-flag"' in a1
    drill = client.get("/unit/A/sub-unit/", {"periode": period.code}).content.decode()
    a1 = re.search(r'<tr data-unit="A1">(.*?)</tr>', drill, re.S).group(1)
    assert re.search(r'data-col="verified">55,0 <small class="text-muted">\(5\)</small>', a1) and 'data-testid="gap-flag"' in a1
    export = client.get("/unit/A/ekspor/sub-unit.csv", {"periode": period.code}).content.decode("utf-8-sig").splitlines()
    assert export[0].endswith("Penilaian terverifikasi;Indeks terverifikasi;Mandiri − terverifikasi")
    assert next(line for line in export if line.startswith("A1;")).endswith(";5;55,0;20,0")
    # One fewer verified: not enough to show.
    Verification.objects.filter(assessment__employee=cast.staff).delete()
    page = client.get("/unit/A1/", {"periode": period.code}).content.decode()
    assert 'data-testid="verified-few"' in page and 'data-testid="verified-mean"' not in page


def test_the_person_is_told_adds_the_evidence_asked_for_and_sees_the_reasons(cast, period, client, mailoutbox, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    assessment = submitted_assessment(cast.staff, period, 4)
    found = verification.verification_add(assessment=assessment, actor=cast.admin)
    first, second = Rating.objects.filter(assessment=assessment).order_by("pk")[:2]
    with django_capture_on_commit_callbacks(execute=True):
        found = verification.decisions_save(
            verification=found, version=found.version, actor=cast.admin,
            decisions={first.pk: ("evidence", None, "Unggah daftar hadir"), second.pk: ("adjust", 2, "Tidak sesuai bukti")},
        )
    assert [m.to for m in mailoutbox] == [["staff@example.go.id"]]
    client.force_login(cast.staff.user)
    page = client.get(f"/hasil/{assessment.pk}/").content.decode()
    assert "Unggah daftar hadir" in page and "Tidak sesuai bukti" in page
    item = VerifiedRating.objects.get(rating=first)
    pdf = SimpleUploadedFile("hadir.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", content_type="application/pdf")
    response = client.post(f"/hasil/{assessment.pk}/bukti-verifikasi/{item.pk}/", {"berkas": pdf})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.evidence and first.evidence_name == "hadir.pdf"
    assert Verification.objects.get(pk=found.pk).version == found.version + 1
    # Someone else cannot, and neither can the owner once the team has decided.
    client.force_login(cast.colleague.user)
    assert client.post(f"/hasil/{assessment.pk}/bukti-verifikasi/{item.pk}/", {"berkas": pdf}).status_code == 404


def test_unit_signals_compare_units_of_the_same_level():
    def row(pk, depth, mean, before=None):
        unit = SimpleNamespace(pk=pk, depth=depth)
        return SimpleNamespace(unit=unit, index_mean=mean, previous=SimpleNamespace(index_mean=before))

    rows = [row(1, 1, 99)] + [row(10 + i, 3, 60 + i % 3) for i in range(9)] + [row(30, 3, 96), row(31, 3, 70, before=50)]
    found = credibility.rows_signals(rows)
    assert [s.code for s in found[30]] == ["unit_high"]
    assert [s.code for s in found[31]] == ["unit_jump"]
    assert 1 not in found  # alone on its level


def test_the_form_records_when_it_was_first_opened(cast, period, client):
    client.force_login(cast.staff.user)
    before = timezone.now()
    assert client.get(f"/penilaian/{period.code}/isi/").status_code == 200
    from .conftest import form_data

    assert client.post(f"/penilaian/{period.code}/isi/", form_data(period, 4)).status_code == 302
    draft = SelfAssessment.objects.get(employee=cast.staff, period=period)
    assert draft.form_opened_at is not None and before <= draft.form_opened_at <= draft.updated_at
    first = draft.form_opened_at
    client.get(f"/penilaian/{period.code}/isi/")  # opening it again keeps the first moment
    assert SelfAssessment.objects.get(pk=draft.pk).form_opened_at == first


def test_agreeing_with_the_rest_at_once(cast, period, client):
    assessment = submitted_assessment(cast.staff, period, 4)
    found = verification.verification_add(assessment=assessment, actor=cast.admin)
    first = Rating.objects.filter(assessment=assessment).order_by("pk").first()
    client.force_login(cast.admin)
    data = {"version": found.version, "action": "agree_rest", f"decision_{first.pk}": "adjust", f"score_{first.pk}": "3", f"reason_{first.pk}": "Bukti lemah"}
    assert client.post(f"/tim-penilai/{found.pk}/", data).status_code == 302
    decisions = dict(VerifiedRating.objects.filter(verification=found).values_list("rating_id", "decision"))
    assert len(decisions) == Rating.objects.filter(assessment=assessment).count()
    assert decisions.pop(first.pk) == "adjust" and set(decisions.values()) == {"agree"}


def test_the_database_count_of_signals_agrees_with_the_signals_of_each_assessment(cast, period):
    straight = submitted_assessment(cast.staff, period, 3)  # every answer the same
    varied = submitted_assessment(cast.colleague, period, 4)
    first = Rating.objects.filter(assessment=varied).order_by("pk").first()
    Rating.objects.filter(pk=first.pk).update(score=2)
    fast = submitted_assessment(cast.other, period, 4)
    Rating.objects.filter(pk=Rating.objects.filter(assessment=fast).order_by("pk").first().pk).update(score=3)
    SelfAssessment.objects.filter(pk=fast.pk).update(form_opened_at=fast.submitted_at - datetime.timedelta(seconds=60))
    flagged = credibility.flagged_assessments(period)
    assert flagged == {straight.pk, fast.pk}
    for assessment in SelfAssessment.objects.filter(period=period):
        assert bool(credibility.assessment_signals(assessment)) == (assessment.pk in flagged)
