from django.urls import path, re_path

from .views import (
    activation,
    common,
    dashboards,
    exports,
    jobs,
    reminders,
    reports,
    review,
    self_assessment,
    two_factor,
    verification,
)

app_name = "assessments"

urlpatterns = [
    path("", common.home, name="home"),
    # Staff
    path("penilaian/", self_assessment.my_assessments, name="my_assessments"),
    path("penilaian/<str:period_code>/isi/", self_assessment.assessment_form, name="form"),
    path("penilaian/<str:period_code>/simpan-otomatis/", self_assessment.assessment_autosave, name="autosave"),
    path("penilaian/<str:period_code>/kirim/", self_assessment.assessment_confirm, name="confirm"),
    path("hasil/<int:pk>/", self_assessment.assessment_result, name="result"),
    path("bukti/<int:pk>/", self_assessment.evidence_download, name="evidence"),
    path("hasil/<int:pk>/bukti.pdf", reports.receipt_pdf, name="receipt"),
    path("data-saya/", self_assessment.my_data, name="my_data"),
    path("data-saya/unduh.csv", self_assessment.my_data_csv, name="my_data_csv"),
    path("privasi/pemberitahuan/<str:period_code>/", self_assessment.privacy_notice, name="privacy_notice"),
    # Public: who sees what, for anyone, logged in or not.
    path("privasi/", common.privacy_page, name="privacy"),
    # One's own in-app reminders (notices.py): dismissing one.
    path("pemberitahuan/<int:pk>/tutup/", common.notice_dismiss, name="notice_dismiss"),
    path("verifikasi/<str:receipt_code>/", reports.receipt_verify, name="receipt_verify"),
    # Public: the first password, with the code of an activation letter.
    path("aktivasi/", activation.activate, name="activate"),
    # Supervisors
    path("unit/", dashboards.dashboard_home, name="dashboard_home"),
    path("unit/<str:code>/", dashboards.unit_dashboard, name="dashboard"),
    path("unit/<str:code>/sub-unit/", dashboards.unit_subunits, name="subunits"),
    path("unit/<str:code>/pegawai/", dashboards.unit_staff, name="staff"),
    path("unit/<str:code>/laporan.pdf", reports.unit_report, name="unit_report"),
    path("unit/<str:code>/setujui/", dashboards.bulk_approve, name="bulk_approve"),
    path("unit/<str:code>/pengingat/", reminders.unit_remind, name="remind"),
    re_path(r"^unit/(?P<code>[^/]+)/ekspor/(?P<table>sub-unit|pegawai)\.(?P<fmt>csv|xlsx)$", exports.unit_export, name="export"),
    path("tinjau/<int:pk>/", review.assessment_review, name="review"),
    path("tinjau/<int:pk>/setujui/", review.assessment_approve, name="approve"),
    path("tinjau/<int:pk>/kembalikan/", review.assessment_return, name="return"),
    # Admins
    # The internal assessment team
    path("tim-penilai/", verification.verification_queue, name="verify_queue"),
    path("tim-penilai/tambah/", verification.verification_add, name="verify_add"),
    path("tim-penilai/sampel/<str:period_code>/", verification.sample_draw, name="verify_draw"),
    path("tim-penilai/<int:pk>/", verification.verification_page, name="verify"),
    path("hasil/<int:pk>/bukti-verifikasi/<int:item_pk>/", verification.requested_evidence, name="requested_evidence"),
    path("rekap/", dashboards.organisation, name="organisation"),
    path("rekap/ekspor.xlsx", exports.organisation_export, name="organisation_export"),
    path("rekap/laporan.pdf", reports.organisation_reports, name="organisation_reports"),
    # Two-factor sign-in: those with administrative access (permissions.needs_second_factor)
    path("akun/dua-langkah/", two_factor.two_factor_status, name="two_factor"),
    path("akun/dua-langkah/daftar/", two_factor.two_factor_enrol, name="two_factor_enrol"),
    path("akun/dua-langkah/kode/", two_factor.two_factor_verify, name="two_factor_verify"),
    path("akun/dua-langkah/kode-pemulihan/", two_factor.two_factor_recovery, name="two_factor_recovery"),
    # Background jobs: the person who started one, and admins
    path("tugas/", jobs.job_list, name="jobs"),
    path("tugas/<int:pk>/", jobs.job_detail, name="job"),
    path("tugas/<int:pk>/status/", jobs.job_status, name="job_status"),
    path("tugas/<int:pk>/unduh/", jobs.job_download, name="job_download"),
]
