"""Who may open what: every URL of the project, for eight people, by GET and by POST, in a
reviewed and in a confidential period (CONFIDENTIAL_MATRIX: the rows that differ). The ninth
person is a member of the internal assessment team, the tenth an office admin (Admin OPD) of A:
they open the Rekap of their units and start its jobs, but, being no head of unit, no unit
dashboard, assessment, review or evidence, in either mode (their admin pages are walked by
tests/test_admin_access.py).

The URLs come from the URLconf itself (`get_resolver()`, walked recursively), so a new URL that
has no rows in MATRIX below makes `test_every_url_of_the_project_is_in_the_matrix` fail and
says which rows to add. Each URL is filled in with what belongs to someone else: the submitted
assessment of `staff` (unit A1) and its rating with an evidence file, every unit (A1, its
parent A, the sibling B, ROOT), both export tables in both formats.

The Django admin's own URLs are walked by tests/test_admin_access.py (every registered model,
every view, GET and POST, for admins, supervisors, staff and the anonymous);
`test_the_admin_urls_not_in_the_matrix_are_walked_by_the_admin_access_test` proves that every
admin URL is covered there or here.

Outcomes (one per cell):
    200, 301, 302  allowed: the page, the file, or the redirect onwards (a POST's success)
    login          refused: an anonymous visitor ends up on /akun/login/
    403, 404, 405, 409  refused: forbidden; not found (a guessed id or code tells nothing);
                   method not allowed (answered before any object is looked up);
                   conflict (the change is refused as it stands: an autosave of a submitted
                   assessment)
    a trailing *   the cell changes the owner's (staff's) data on purpose: a reviewer approves,
                   the owner changes their own password

What every cell must satisfy besides its outcome:
  * never a 500;
  * refused cells (login, 403, 404, 405) change nothing in the database: the request runs no
    INSERT, UPDATE or DELETE on any table but the sessions, and a snapshot of the tables it
    could touch (people, assessments, ratings, logs, roll-ups, login records) is the same after;
  * cells without * leave the owner's data (account, employee record, assessments, ratings,
    pillar scores, history) exactly as it was;
  * the anonymous visitor, the colleague, the staff member of another unit and the sibling
    unit's supervisor never see the owner's name or NIP, in any page or file (but for the
    public check of a receipt, whose code the owner hands out: it names them, without the NIP).
Every cell runs in its own savepoint, rolled back afterwards, with a fresh client.

Two-factor sign-in is on (TWO_FACTOR_REQUIRED) and the sessions of the two actors who need it
(`permissions.needs_second_factor`: the admin and the team member) are verified with an
authenticator app of their own, as the code page leaves them; every cell holds with enforcement
on. `test_an_admin_whose_session_is_not_verified_is_sent_to_the_code_page` walks every row the
admin may open with a session that is not verified: the code page instead, nothing changed.

Public by design (allowed for everyone, logged in or not): healthz, favicon.ico, the login page
(which sends a logged-in visitor on), logout (POST), password reset and its confirmation pages,
set_language, the Privasi page (GET), the check of a receipt by its code (GET), the activation
page (the code of an activation letter is the credential). The SSO URLs
(/oidc/authenticate/, /oidc/callback/) would be too, but SSO is off here: they answer 404 to
everyone (tests/test_oidc.py signs in through them against a real OpenID provider).
"""

import datetime
import io
import itertools
import zipfile
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from assessments import permissions, reports, services, verification
from assessments.middleware import TWO_FACTOR_EXEMPT
from assessments.models import (
    AssessmentEvent,
    AssessmentPeriod,
    Job,
    Notice,
    PillarScore,
    PrivacyAcknowledgement,
    Rating,
    SelfAssessment,
    VerifiedRating,
    VerifierAssignment,
)

from .conftest import PASSWORD, all_answers, form_data, make_employee
from .test_admin_access import admin_urls, office_admin, world  # noqa: F401 - `world` is the admin test's fixture

ACTORS = ("anonymous", "owner", "colleague", "other", "supervisor", "sibling", "sub", "admin", "verifier", "office_admin")
# anonymous   not logged in
# owner       staff (A1): the assessment, the rating and the evidence are theirs
# colleague   another staff member of A1
# other       a staff member of B
# supervisor  heads A (A1's parent)
# sibling     heads B (A's sibling)
# sub         heads A1 (a unit below the supervisor's)
# admin       superuser, no employee record
# verifier    a member of the internal assessment team (Tim Penilai Internal) with the whole
#             organisation in scope, a staff member of B: reads and verifies staff's assessment
# office_admin  an office admin (group Admin OPD) of A (A1's parent), no employee record: manages
#             A's units and staff in the administration and sees their Rekap, group figures only

# Those who may never see the owner's name or NIP anywhere.
STRANGERS = ("anonymous", "colleague", "other", "sibling")

# One row per URL (its arguments in brackets) and method; one column per actor, as ACTORS.
MATRIX = """
# --- Public by design --------------------------------------------------------------------------------------------
healthz                                        GET   200   200   200   200   200   200   200   200   200   200
healthz                                        POST  200   200   200   200   200   200   200   200   200   200
favicon.ico                                    GET   301   301   301   301   301   301   301   301   301   301
favicon.ico                                    POST  301   301   301   301   301   301   301   301   301   301
set_language                                   GET   302   302   302   302   302   302   302   302   302   302
set_language                                   POST  302   302   302   302   302   302   302   302   302   302
# The login page sends whoever is logged in on; a wrong password for staff's NIP is shown the form again.
login                                          GET   200   302   302   302   302   302   302   302   302   302
login                                          POST  200   302   302   302   302   302   302   302   302   302
logout                                         GET   405   405   405   405   405   405   405   405   405   405
logout                                         POST  302   302   302   302   302   302   302   302   302   302
# A reset for staff's address only sends staff a link; the link (valid token) is the credential;
# the token "set-password" without the session that a valid link starts is refused (the page says so),
# and so is the link once staff has logged in since it was made (the owner's column).
password_reset                                 GET   200   200   200   200   200   200   200   200   200   200
password_reset                                 POST  302   302   302   302   302   302   302   302   302   302
password_reset_done                            GET   200   200   200   200   200   200   200   200   200   200
password_reset_done                            POST  405   405   405   405   405   405   405   405   405   405
password_reset_confirm[staff,valid]            GET   302   200   302   302   302   302   302   302   302   302
password_reset_confirm[staff,valid]            POST  302   200   302   302   302   302   302   302   302   302
password_reset_confirm[staff,set-password]     GET   200   200   200   200   200   200   200   200   200   200
password_reset_confirm[staff,set-password]     POST  200   200   200   200   200   200   200   200   200   200
password_reset_complete                        GET   200   200   200   200   200   200   200   200   200   200
password_reset_complete                        POST  405   405   405   405   405   405   405   405   405   405
# Single sign-on (OpenID Connect) is off here (no OIDC_ISSUER): its two URLs answer 404 to everyone,
# whatever the method. tests/test_oidc.py covers them with SSO on, against a real provider.
oidc_authentication_init                       GET   404   404   404   404   404   404   404   404   404   404
oidc_authentication_init                       POST  404   404   404   404   404   404   404   404   404   404
oidc_authentication_callback                   GET   404   404   404   404   404   404   404   404   404   404
oidc_authentication_callback                   POST  404   404   404   404   404   404   404   404   404   404
# The first password with an activation letter's code: the code is the credential. This body's
# code is wrong (for a NIP that is nobody's): the form again, with one message for any bad code.
assessments:activate                           GET   200   200   200   200   200   200   200   200   200   200
assessments:activate                           POST  200   200   200   200   200   200   200   200   200   200
# Who sees what, how long: for anyone; a page to read, nothing to post.
assessments:privacy                            GET   200   200   200   200   200   200   200   200   200   200
assessments:privacy                            POST  405   405   405   405   405   405   405   405   405   405
# --- One's own account: the URL names no one, each person gets their own ---------------------------------------
password_change                                GET   login 200   200   200   200   200   200   200   200   200
password_change                                POST  login 302*  302   302   302   302   302   302   302   302
password_change_done                           GET   login 200   200   200   200   200   200   200   200   200
password_change_done                           POST  login 405   405   405   405   405   405   405   405   405
assessments:home                               GET   login 302   302   302   302   302   302   302   302   302
assessments:home                               POST  login 302   302   302   302   302   302   302   302   302
assessments:my_assessments                     GET   login 200   200   200   200   200   200   404   200   404
assessments:my_assessments                     POST  login 200   200   200   200   200   200   404   200   404
assessments:my_data                            GET   login 200   200   200   200   200   200   404   200   404
assessments:my_data                            POST  login 200   200   200   200   200   200   404   200   404
assessments:my_data_csv                        GET   login 200   200   200   200   200   200   404   200   404
assessments:my_data_csv                        POST  login 200   200   200   200   200   200   404   200   404
# One's own in-app reminder (the owner's here): dismissed by a POST, back to the page; anyone else's is 404.
assessments:notice_dismiss[notice]             GET   login 405   405   405   405   405   405   405   405   405
assessments:notice_dismiss[notice]             POST  login 302   404   404   404   404   404   404   404   404
# The privacy notice of a period names no person: everyone with an employee record reads it, and
# the button records that they read it (their own row; each of them has read it already here).
assessments:privacy_notice[open]               GET   login 200   200   200   200   200   200   404   200   404
assessments:privacy_notice[open]               POST  login 302   302   302   302   302   302   404   302   404
# The period names no person: the owner (who has submitted) is sent to the result, everyone
# else with an employee record gets their own form (a POST saves their own draft).
assessments:form[open]                         GET   login 302   200   200   200   200   200   404   200   404
assessments:form[open]                         POST  login 302   302   302   302   302   302   404   302   404
# Autosave answers JSON: the owner (submitted already) is refused with 409, everyone else saves
# their own draft.
assessments:autosave[open]                     GET   login 405   405   405   405   405   405   405   405   405
assessments:autosave[open]                     POST  login 409   200   200   200   200   200   404   200   404
assessments:confirm[open]                      GET   login 302   302   302   302   302   302   404   302   404
assessments:confirm[open]                      POST  login 302   302   302   302   302   302   404   302   404
# Two-factor sign-in: only those with administrative access (the admin and the team member here), 404
# for everyone else. Both are enrolled and verified already: the set-up and the code page send them
# on; new recovery codes: GET asks first, POST shows them (their own codes: not the owner's data).
assessments:two_factor                         GET   login 404   404   404   404   404   404   200   200   200
assessments:two_factor                         POST  login 405   405   405   405   405   405   405   405   405
assessments:two_factor_enrol                   GET   login 404   404   404   404   404   404   302   302   302
assessments:two_factor_enrol                   POST  login 404   404   404   404   404   404   302   302   302
assessments:two_factor_verify                  GET   login 404   404   404   404   404   404   302   302   302
assessments:two_factor_verify                  POST  login 404   404   404   404   404   404   302   302   302
assessments:two_factor_recovery                GET   login 404   404   404   404   404   404   200   200   200
assessments:two_factor_recovery                POST  login 404   404   404   404   404   404   200   200   200
# --- Someone else's assessment, rating and evidence -------------------------------------------------------------
assessments:result[assessment]                 GET   login 200   404   404   200   404   200   200   200   404
assessments:result[assessment]                 POST  login 200   404   404   200   404   200   200   200   404
# A person's receipt of their own submission (PDF): theirs only, in both modes.
assessments:receipt[assessment]                GET   login 200   404   404   404   404   404   404   404   404
assessments:receipt[assessment]                POST  login 405   405   405   405   405   405   405   405   405
# Public: confirms a receipt by its code (name, period, index, date; never the answers).
assessments:receipt_verify[receipt]            GET   200   200   200   200   200   200   200   200   200   200
assessments:receipt_verify[receipt]            POST  405   405   405   405   405   405   405   405   405   405
assessments:evidence[rating]                   GET   login 200   404   404   200   404   200   200   200   404
assessments:evidence[rating]                   POST  login 200   404   404   200   404   200   200   200   404
# The review page: never one's own; it takes no POST (each decision has its own address).
assessments:review[assessment]                 GET   login 404   404   404   200   404   200   200   404   404
assessments:review[assessment]                 POST  login 405   405   405   405   405   405   405   405   405
# Never one's own; the POST approves, or returns with a note.
assessments:approve[assessment]                GET   login 405   405   405   405   405   405   405   405   405
assessments:approve[assessment]                POST  login 404   404   404   302*  404   302*  302*  404   404
assessments:return[assessment]                 GET   login 405   405   405   405   405   405   405   405   405
assessments:return[assessment]                 POST  login 404   404   404   302*  404   302*  302*  404   404
# --- The internal assessment team ------------------------------------------------------------------------------
# The queue: team members and admins; everyone else 404. Adding by NIP (this body names none: back
# to the queue with a message). Drawing a sample: admins only (an open period: back with a message).
assessments:verify_queue                       GET   login 404   404   404   404   404   404   200   200   404
assessments:verify_queue                       POST  login 404   404   404   404   404   404   200   200   404
assessments:verify_add                         GET   login 405   405   405   405   405   405   405   405   405
assessments:verify_add                         POST  login 404   404   404   404   404   404   302   302   404
assessments:verify_draw[open]                  GET   login 405   405   405   405   405   405   405   405   405
assessments:verify_draw[open]                  POST  login 403   403   403   403   403   403   302   403   403
# One verification of staff's assessment: the team member in scope and admins; never the owner.
assessments:verify[verification]               GET   login 404   404   404   404   404   404   200   200   404
assessments:verify[verification]               POST  login 404   404   404   404   404   404   302   302   404
# The owner adds the evidence the team asked for (this body carries no file: back with a message).
assessments:requested_evidence[assessment,item] GET  login 405   405   405   405   405   405   405   405   405
assessments:requested_evidence[assessment,item] POST login 302   404   404   404   404   404   404   404   404
# --- Units: the dashboards, their tables and exports ------------------------------------------------------------
assessments:dashboard_home                     GET   login 404   404   404   302   302   302   302   404   404
assessments:dashboard_home                     POST  login 404   404   404   302   302   302   302   404   404
assessments:dashboard[A1]                      GET   login 404   404   404   200   404   200   200   404   404
assessments:dashboard[A1]                      POST  login 404   404   404   200   404   200   200   404   404
assessments:dashboard[A]                       GET   login 404   404   404   200   404   404   200   404   404
assessments:dashboard[A]                       POST  login 404   404   404   200   404   404   200   404   404
assessments:dashboard[B]                       GET   login 404   404   404   404   200   404   200   404   404
assessments:dashboard[B]                       POST  login 404   404   404   404   200   404   200   404   404
assessments:dashboard[ROOT]                    GET   login 404   404   404   404   404   404   200   404   404
assessments:dashboard[ROOT]                    POST  login 404   404   404   404   404   404   200   404   404
# The unit's PDF report: whoever sees the dashboard, with the same figures.
assessments:unit_report[A1]                    GET   login 404   404   404   200   404   200   200   404   404
assessments:unit_report[A1]                    POST  login 405   405   405   405   405   405   405   405   405
assessments:unit_report[A]                     GET   login 404   404   404   200   404   404   200   404   404
assessments:unit_report[A]                     POST  login 405   405   405   405   405   405   405   405   405
assessments:unit_report[B]                     GET   login 404   404   404   404   200   404   200   404   404
assessments:unit_report[B]                     POST  login 405   405   405   405   405   405   405   405   405
assessments:unit_report[ROOT]                  GET   login 404   404   404   404   404   404   200   404   404
assessments:unit_report[ROOT]                  POST  login 405   405   405   405   405   405   405   405   405
assessments:subunits[A1]                       GET   login 404   404   404   200   404   200   200   404   404
assessments:subunits[A1]                       POST  login 404   404   404   200   404   200   200   404   404
assessments:subunits[A]                        GET   login 404   404   404   200   404   404   200   404   404
assessments:subunits[A]                        POST  login 404   404   404   200   404   404   200   404   404
assessments:subunits[B]                        GET   login 404   404   404   404   200   404   200   404   404
assessments:subunits[B]                        POST  login 404   404   404   404   200   404   200   404   404
assessments:subunits[ROOT]                     GET   login 404   404   404   404   404   404   200   404   404
assessments:subunits[ROOT]                     POST  login 404   404   404   404   404   404   200   404   404
assessments:staff[A1]                          GET   login 404   404   404   200   404   200   200   404   404
assessments:staff[A1]                          POST  login 404   404   404   200   404   200   200   404   404
assessments:staff[A]                           GET   login 404   404   404   200   404   404   200   404   404
assessments:staff[A]                           POST  login 404   404   404   200   404   404   200   404   404
assessments:staff[B]                           GET   login 404   404   404   404   200   404   200   404   404
assessments:staff[B]                           POST  login 404   404   404   404   200   404   200   404   404
assessments:staff[ROOT]                        GET   login 404   404   404   404   404   404   200   404   404
assessments:staff[ROOT]                        POST  login 404   404   404   404   404   404   200   404   404
# Bulk approval is POST only (405 before the unit is looked up, the same for a unit that does
# not exist). Each chosen assessment is checked against the reviewer's own scope, whatever unit
# the URL names: the sibling's POST through B approves nothing (302 back, with an error).
assessments:bulk_approve[A1]                   GET   login 405   405   405   405   405   405   405   405   405
assessments:bulk_approve[A1]                   POST  login 404   404   404   302*  404   302*  302*  404   404
assessments:bulk_approve[A]                    GET   login 405   405   405   405   405   405   405   405   405
assessments:bulk_approve[A]                    POST  login 404   404   404   302*  404   404   302*  404   404
assessments:bulk_approve[B]                    GET   login 405   405   405   405   405   405   405   405   405
assessments:bulk_approve[B]                    POST  login 404   404   404   404   302   404   302*  404   404
assessments:bulk_approve[ROOT]                 GET   login 405   405   405   405   405   405   405   405   405
assessments:bulk_approve[ROOT]                 POST  login 404   404   404   404   404   404   302*  404   404
# "Kirim pengingat" is POST only; a head of the unit (or above it) reminds its staff who have not
# started (the owner has submitted: nobody's data changes), elsewhere 404.
assessments:remind[A1]                         GET   login 405   405   405   405   405   405   405   405   405
assessments:remind[A1]                         POST  login 404   404   404   302   404   302   302   404   404
assessments:remind[A]                          GET   login 405   405   405   405   405   405   405   405   405
assessments:remind[A]                          POST  login 404   404   404   302   404   404   302   404   404
assessments:remind[B]                          GET   login 405   405   405   405   405   405   405   405   405
assessments:remind[B]                          POST  login 404   404   404   404   302   404   302   404   404
assessments:remind[ROOT]                       GET   login 405   405   405   405   405   405   405   405   405
assessments:remind[ROOT]                       POST  login 404   404   404   404   404   404   302   404   404
# Exports, both tables in both formats: in scope the file, elsewhere 404.
assessments:export[A1,sub-unit,csv]            GET   login 404   404   404   200   404   200   200   404   404
assessments:export[A1,sub-unit,csv]            POST  login 404   404   404   200   404   200   200   404   404
assessments:export[A1,sub-unit,xlsx]           GET   login 404   404   404   200   404   200   200   404   404
assessments:export[A1,sub-unit,xlsx]           POST  login 404   404   404   200   404   200   200   404   404
assessments:export[A1,pegawai,csv]             GET   login 404   404   404   200   404   200   200   404   404
assessments:export[A1,pegawai,csv]             POST  login 404   404   404   200   404   200   200   404   404
assessments:export[A1,pegawai,xlsx]            GET   login 404   404   404   200   404   200   200   404   404
assessments:export[A1,pegawai,xlsx]            POST  login 404   404   404   200   404   200   200   404   404
assessments:export[A,sub-unit,csv]             GET   login 404   404   404   200   404   404   200   404   404
assessments:export[A,sub-unit,csv]             POST  login 404   404   404   200   404   404   200   404   404
assessments:export[A,sub-unit,xlsx]            GET   login 404   404   404   200   404   404   200   404   404
assessments:export[A,sub-unit,xlsx]            POST  login 404   404   404   200   404   404   200   404   404
assessments:export[A,pegawai,csv]              GET   login 404   404   404   200   404   404   200   404   404
assessments:export[A,pegawai,csv]              POST  login 404   404   404   200   404   404   200   404   404
assessments:export[A,pegawai,xlsx]             GET   login 404   404   404   200   404   404   200   404   404
assessments:export[A,pegawai,xlsx]             POST  login 404   404   404   200   404   404   200   404   404
assessments:export[B,sub-unit,csv]             GET   login 404   404   404   404   200   404   200   404   404
assessments:export[B,sub-unit,csv]             POST  login 404   404   404   404   200   404   200   404   404
assessments:export[B,sub-unit,xlsx]            GET   login 404   404   404   404   200   404   200   404   404
assessments:export[B,sub-unit,xlsx]            POST  login 404   404   404   404   200   404   200   404   404
assessments:export[B,pegawai,csv]              GET   login 404   404   404   404   200   404   200   404   404
assessments:export[B,pegawai,csv]              POST  login 404   404   404   404   200   404   200   404   404
assessments:export[B,pegawai,xlsx]             GET   login 404   404   404   404   200   404   200   404   404
assessments:export[B,pegawai,xlsx]             POST  login 404   404   404   404   200   404   200   404   404
assessments:export[ROOT,sub-unit,csv]          GET   login 404   404   404   404   404   404   200   404   404
assessments:export[ROOT,sub-unit,csv]          POST  login 404   404   404   404   404   404   200   404   404
assessments:export[ROOT,sub-unit,xlsx]         GET   login 404   404   404   404   404   404   200   404   404
assessments:export[ROOT,sub-unit,xlsx]         POST  login 404   404   404   404   404   404   200   404   404
assessments:export[ROOT,pegawai,csv]           GET   login 404   404   404   404   404   404   200   404   404
assessments:export[ROOT,pegawai,csv]           POST  login 404   404   404   404   404   404   200   404   404
assessments:export[ROOT,pegawai,xlsx]          GET   login 404   404   404   404   404   404   200   404   404
assessments:export[ROOT,pegawai,xlsx]          POST  login 404   404   404   404   404   404   200   404   404
# --- The organisation roll-up: admins, and office admins for their own units ------------------------------------
assessments:organisation                       GET   login 403   403   403   403   403   403   200   403   200
assessments:organisation                       POST  login 403   403   403   403   403   403   200   403   200
# The export is a background job, started by a POST (it redirects to the job's page).
assessments:organisation_export                GET   login 403   403   403   403   403   403   405   403   405
assessments:organisation_export                POST  login 403   403   403   403   403   403   302   403   302
assessments:organisation_reports               GET   login 403   403   403   403   403   403   405   403   405
assessments:organisation_reports               POST  login 403   403   403   403   403   403   302   403   302
# --- Background jobs: the person who started one (here the owner) and admins (not office admins) ------------------
assessments:jobs                               GET   login 200   200   200   200   200   200   200   200   200
assessments:jobs                               POST  login 405   405   405   405   405   405   405   405   405
assessments:job[job]                           GET   login 200   404   404   404   404   404   200   404   404
assessments:job[job]                           POST  login 405   405   405   405   405   405   405   405   405
assessments:job_status[job]                    GET   login 200   404   404   404   404   404   200   404   404
assessments:job_status[job]                    POST  login 405   405   405   405   405   405   405   405   405
assessments:job_download[job]                  GET   login 200   404   404   404   404   404   200   404   404
assessments:job_download[job]                  POST  login 405   405   405   405   405   405   405   405   405
# --- The admin URLs that tests/test_admin_access.py does not walk -----------------------------------------------
# The anonymous visitor's logout goes to /admin/ and on to the login page; an admin logs out with a
# POST (GET: 405) and lands on /akun/login/; the catalogue is GET only. A content type's object
# without a public URL is a 404 even for the admin.
admin:logout                                   GET   login 403   403   403   403   403   403   405   403   405
admin:logout                                   POST  login 403   403   403   403   403   403   302   403   302
admin:jsi18n                                   GET   login 403   403   403   403   403   403   200   403   200
admin:jsi18n                                   POST  login 403   403   403   403   403   403   405   403   405
admin:view_on_site[selfassessment,assessment]  GET   login 403   403   403   403   403   403   404   403   404
admin:view_on_site[selfassessment,assessment]  POST  login 403   403   403   403   403   403   404   403   404
admin:<catch-all>[tidak-ada/]                  GET   login 403   403   403   403   403   403   404   403   404
admin:<catch-all>[tidak-ada/]                  POST  login 403   403   403   403   403   403   404   403   404
"""

def parse_matrix(text: str) -> dict[tuple[str, str], dict[str, str]]:
    table = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, method, *outcomes = line.split()
        assert len(outcomes) == len(ACTORS), f"MATRIX row {line!r}: {len(outcomes)} outcomes for {len(ACTORS)} actors"
        row = (key, method)
        assert row not in table, f"MATRIX has two rows for {row}"
        table[row] = dict(zip(ACTORS, outcomes, strict=True))
    return table


EXPECTED = parse_matrix(MATRIX)

# The same period made confidential (docs/RULES.md, visibility): only the person and the internal
# assessment team open a person's assessment and evidence; heads of unit and admins open no
# review page and approve or return nothing (a bulk approval goes back with an error, changing
# nothing): a submission is final. Only these rows differ.
CONFIDENTIAL_MATRIX = """
assessments:result[assessment]                 GET   login 200   404   404   404   404   404   404   200   404
assessments:result[assessment]                 POST  login 200   404   404   404   404   404   404   200   404
assessments:evidence[rating]                   GET   login 200   404   404   404   404   404   404   200   404
assessments:evidence[rating]                   POST  login 200   404   404   404   404   404   404   200   404
assessments:review[assessment]                 GET   login 404   404   404   404   404   404   404   404   404
assessments:approve[assessment]                POST  login 404   404   404   404   404   404   404   404   404
assessments:return[assessment]                 POST  login 404   404   404   404   404   404   404   404   404
assessments:bulk_approve[A1]                   POST  login 404   404   404   302   404   302   302   404   404
assessments:bulk_approve[A]                    POST  login 404   404   404   302   404   404   302   404   404
assessments:bulk_approve[B]                    POST  login 404   404   404   404   302   404   302   404   404
assessments:bulk_approve[ROOT]                 POST  login 404   404   404   404   404   404   302   404   404
"""
EXPECTED_BY_MODE = {"reviewed": EXPECTED, "confidential": {**EXPECTED, **parse_matrix(CONFIDENTIAL_MATRIX)}}

# The rows under "Public by design": no one is refused them (405 is the method, not the person).
PUBLIC = {"healthz", "favicon.ico", "set_language", "login", "logout", "password_reset", "password_reset_done",
          "password_reset_confirm", "password_reset_complete", "assessments:privacy", "assessments:receipt_verify",
          "assessments:activate"}


# --- The URLconf ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name", or the route itself for an unnamed pattern
    route: str  # the full route, prefixes included
    arguments: tuple[str, ...]


# Unnamed patterns get a readable key here.
UNNAMED = {"favicon.ico": "favicon.ico", "admin/(?P<url>.*)$": "admin:<catch-all>"}

# The Django admin's URLs are walked by tests/test_admin_access.py, but for these, walked here.
ADMIN_IN_MATRIX = {"admin:logout", "admin:jsi18n", "admin:view_on_site", "admin:<catch-all>"}


def _arguments(pattern) -> tuple[str, ...]:
    if hasattr(pattern, "converters") and pattern.converters:
        return tuple(pattern.converters)
    return tuple(pattern.regex.groupindex)


def walk(patterns=None, prefix: str = "", namespace: str = "", arguments: tuple[str, ...] = (), seen=None):
    """Yield a Route for every URL pattern, nested includes and namespaces included; a pattern
    shadowed by an earlier one with the same route and key (auth's login) is yielded once."""
    seen = set() if seen is None else seen
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        # Joined as Django joins them (ResolverMatch.route): a regex's ^ goes after a prefix.
        route = prefix + str(pattern.pattern).removeprefix("^") if prefix else str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}".strip(":") if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, route, inner, arguments + _arguments(pattern.pattern), seen)
            continue
        assert isinstance(pattern, URLPattern)
        if pattern.name:
            key = f"{namespace}:{pattern.name}" if namespace else pattern.name
        else:
            key = UNNAMED.get(route) or (f"{namespace}:{route}" if namespace else route)
        if (key, route) in seen:
            continue
        seen.add((key, route))
        yield Route(key, route, arguments + _arguments(pattern.pattern))


def project_routes() -> list[Route]:
    """Every route of the project but the admin's own (tests/test_admin_access.py walks those)."""
    routes = []
    for route in walk():
        if route.key.startswith("admin:") and route.key not in ADMIN_IN_MATRIX:
            continue
        routes.append(route)
    return routes


# --- The world: what belongs to staff, and the ten actors --------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NEW_PASSWORD = "Sandi-Baru-2026-matriks"


@pytest.fixture
def scene(cast, period, settings):
    """staff's submitted assessment of the open period, with a PDF on its first rating; a job
    and an in-app reminder of staff's. Two-factor sign-in is on; the admin and the team member
    have an authenticator app (`devices`), which verifies their sessions in `run_cell`; so does the office admin."""
    settings.TWO_FACTOR_REQUIRED = True
    sub = make_employee("kasubdit", cast.tree.a1, heads=cast.tree.a1, name="Kasubdit A1")
    answers = all_answers(period, 4, note="catatan")
    first = next(iter(answers))
    answers[first].evidence = SimpleUploadedFile("bukti.pdf", PDF)
    draft = services.assessment_save_draft(employee=cast.staff, period=period, answers=answers, version=0, actor=cast.staff.user)
    services.assessment_submit(assessment=draft, version=draft.version, actor=cast.staff.user)
    assessment = SelfAssessment.objects.get(pk=draft.pk)
    rating = Rating.objects.get(assessment=assessment, indicator_id=first)
    assert assessment.state == "submitted" and rating.evidence
    users = {
        "anonymous": None,
        "owner": cast.staff.user,
        "colleague": cast.colleague.user,
        "other": cast.other.user,
        "supervisor": cast.supervisor.user,
        "sibling": cast.sibling_supervisor.user,
        "sub": sub.user,
        "admin": cast.admin,
        "verifier": team_member(cast).user,
        "office_admin": office_admin(cast),
    }
    found = verification.verification_add(assessment=assessment, actor=cast.admin)
    item = VerifiedRating.objects.create(verification=found, rating=rating, decision="evidence", reason="Mohon bukti")
    receipt = reports.receipt_issue(assessment)
    job = Job.objects.create(kind=Job.Kind.IMPORT_STAFF, started_by=cast.staff.user, state=Job.State.DONE, expires_at=timezone.now() + datetime.timedelta(days=7))
    job.result.save("hasil.csv", ContentFile(b"NIP;Nama\n"))
    notice = Notice.objects.create(user=cast.staff.user, period=period, days_before=7)
    devices = {
        actor: TOTPDevice.objects.create(user=user, name="Aplikasi autentikator", confirmed=True)
        for actor, user in users.items()
        if user is not None and permissions.needs_second_factor(user)
    }
    assert set(devices) == {"admin", "verifier", "office_admin"}
    return SimpleNamespace(
        cast=cast, period=period, assessment=assessment, rating=rating, users=users, staff=cast.staff, verification=found, item=item, job=job,
        notice=notice, receipt=receipt, devices=devices,
    )


def session_verify(client, device) -> None:
    """What the code page does once a code is right (django_otp.login): the session names the
    device that verified it."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def team_member(cast):
    """A staff member of B in the internal assessment team, the whole organisation in scope."""
    member = make_employee("penilai", cast.tree.b, name="Putri Penilai")
    member.user.groups.add(Group.objects.get(name=permissions.VERIFIER_GROUP))
    VerifierAssignment.objects.create(user=member.user, unit=cast.tree.root)
    return member


def argument_values(scene, key: str, name: str) -> list[tuple[str, str]]:
    """(label, value) for each value an argument of a URL is tried with; labels name the rows."""
    staff = scene.staff
    values = {
        "period_code": [("open", scene.period.code)],
        "pk": {
            "assessments:result": [("assessment", scene.assessment.pk)],
            "assessments:review": [("assessment", scene.assessment.pk)],
            "assessments:approve": [("assessment", scene.assessment.pk)],
            "assessments:return": [("assessment", scene.assessment.pk)],
            "assessments:evidence": [("rating", scene.rating.pk)],
            "assessments:verify": [("verification", scene.verification.pk)],
            "assessments:requested_evidence": [("assessment", scene.assessment.pk)],
            "assessments:receipt": [("assessment", scene.assessment.pk)],
            "assessments:job": [("job", scene.job.pk)],
            "assessments:job_status": [("job", scene.job.pk)],
            "assessments:job_download": [("job", scene.job.pk)],
            "assessments:notice_dismiss": [("notice", scene.notice.pk)],
        }.get(key),
        "item_pk": [("item", scene.item.pk)],
        "receipt_code": [("receipt", scene.receipt.code)],
        "code": [("A1", "A1"), ("A", "A"), ("B", "B"), ("ROOT", "ROOT")],
        "table": [("sub-unit", "sub-unit"), ("pegawai", "pegawai")],
        "fmt": [("csv", "csv"), ("xlsx", "xlsx")],
        "uidb64": [("staff", urlsafe_base64_encode(force_bytes(staff.user.pk)))],
        "token": [("valid", default_token_generator.make_token(staff.user)), ("set-password", "set-password")],
        "content_type_id": [("selfassessment", ContentType.objects.get_for_model(SelfAssessment).pk)],
        "object_id": [("assessment", scene.assessment.pk)],
        "url": [("tidak-ada/", "tidak-ada/")],
    }.get(name)
    assert values, f"{key} takes the argument {name!r}, which this test does not know: add its values to argument_values() and its rows to MATRIX"
    return values


# Query strings tried besides the plain URL.
QUERIES: dict[str, list[str]] = {}


def concrete_urls(scene, route: Route) -> list[tuple[str, str]]:
    """(row name, URL) for every combination of argument values (and query) of one route."""
    choices = [argument_values(scene, route.key, name) for name in route.arguments]
    urls = []
    for combination in itertools.product(*choices):
        kwargs = {name: value for name, (_label, value) in zip(route.arguments, combination, strict=True)}
        labels = ",".join(label for label, _value in combination)
        row = f"{route.key}[{labels}]" if labels else route.key
        if route.key == "favicon.ico":
            url = "/favicon.ico"
        elif route.key == "admin:<catch-all>":
            url = "/admin/" + kwargs["url"]
        else:
            url = reverse(route.key, kwargs=kwargs)
        urls.append((row, url))
        urls += [(f"{row}?{query}", f"{url}?{query}") for query in QUERIES.get(route.key, [])]
    return urls


def post_body(scene, key: str) -> dict:
    """A plausible body for each POST: the form the page carries, filled in; else a forged
    approval of staff's assessment."""
    staff = scene.staff
    bodies = {
        "login": {"username": staff.user.username, "password": "salah-sandi"},
        "set_language": {"language": "en", "next": "/"},
        "password_change": {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        "password_reset": {"email": staff.user.email},
        "password_reset_confirm": {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        "assessments:activate": {"nip": "199001012015031999", "code": "ABCD-EFGH-JKMN", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        "assessments:form": form_data(scene.period, score=2, note="diubah"),
        "assessments:autosave": form_data(scene.period, score=2, note="diubah"),
        "assessments:confirm": {"version": str(scene.assessment.version)},
        "assessments:review": {"action": "approve"},
        "assessments:bulk_approve": {"pilih": [scene.assessment.pk], "konfirmasi": "1"},
        "assessments:verify": {"version": str(scene.verification.version), "action": "save"},
    }
    return bodies.get(key, {"action": "approve", "pilih": [scene.assessment.pk], "konfirmasi": "1", "note": "x"})


# --- Checking one cell -------------------------------------------------------------------------------


# The tables a request of this matrix could touch: people, assessments and what hangs off them,
# the logs, the roll-ups, the login records (sessions aside: logging in writes one).
RELEVANT_TABLES = (
    "auth_user", "auth_user_groups", "assessments_employee", "assessments_supervisorassignment",
    "assessments_selfassessment", "assessments_rating", "assessments_pillarscore", "assessments_assessmentevent",
    "assessments_accesslog", "assessments_unitperiodsummary", "assessments_unitperiodpillarsummary",
    "assessments_unitperiodindicatorsummary", "assessments_assessmentperiod", "assessments_workunit",
    "assessments_reminderlog", "assessments_historicalemployee", "assessments_historicalworkunit", "django_admin_log",
    "assessments_privacyacknowledgement",
    "axes_accessattempt", "axes_accessattemptexpiration", "axes_accessfailurelog", "axes_accesslog",
)


def snapshot() -> dict:
    """Every row of the relevant tables (raw SQL: this runs some 600 times)."""
    rows = {}
    with connection.cursor() as cursor:
        for table in RELEVANT_TABLES:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows[table] = sorted(map(repr, cursor.fetchall()))
    return rows


class WriteRecorder:
    """Records every INSERT, UPDATE or DELETE the connection runs, but on the sessions table:
    a refused request must not write anything, in any table (a stricter check than a
    snapshot of some tables, and a cheap one)."""

    def __init__(self):
        self.writes = []

    def __call__(self, execute, sql, params, many, context):
        statement = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if statement in ("INSERT", "UPDATE", "DELETE") and Session._meta.db_table not in sql:
            self.writes.append(sql[:80])
        return execute(sql, params, many, context)


def owner_snapshot(scene) -> tuple:
    """staff's own data: account, employee record, assessments, ratings, scores, history, the
    privacy notices read."""
    staff = scene.staff
    assessments = SelfAssessment.objects.filter(employee=staff)
    return (
        list(PrivacyAcknowledgement.objects.filter(user_id=staff.user_id).order_by("pk").values_list()),
        list(type(staff.user).objects.filter(pk=staff.user_id).values_list()),
        list(type(staff).objects.filter(pk=staff.pk).values_list()),
        list(assessments.order_by("pk").values_list()),
        list(Rating.objects.filter(assessment__in=assessments).order_by("pk").values_list()),
        list(PillarScore.objects.filter(assessment__in=assessments).order_by("pk").values_list()),
        list(AssessmentEvent.objects.filter(assessment__in=assessments).order_by("pk").values_list()),
    )


def body_text(response) -> str:
    """The response's text; for an XLSX (a zip), the text of every part of it."""
    data = response.getvalue()
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = b"".join(archive.read(name) for name in archive.namelist())
    return data.decode("utf-8", "replace")


REFUSED = {"login", "403", "404", "405", "409"}


def run_cell(scene, actor: str, method: str, row: str, url: str, outcome: str) -> str | None:
    """Make one request in a savepoint that is rolled back; return a problem, or None."""
    expected = outcome.rstrip("*")
    with transaction.atomic():
        client = Client()
        user = scene.users[actor]
        if user is not None:
            client.force_login(user)
            if actor in scene.devices:
                session_verify(client, scene.devices[actor])
        refused = expected in REFUSED
        before = snapshot() if refused else None
        owner_before = owner_snapshot(scene) if not refused else None
        body = post_body(scene, row.split("[")[0].split("?")[0])
        follow = expected == "login"
        recorder = WriteRecorder()
        try:
            with connection.execute_wrapper(recorder):
                if method == "GET":
                    response = client.get(url, follow=follow)
                else:
                    response = client.post(url, body, follow=follow)
        except Exception as error:  # the test client re-raises what the view raised: a 500
            transaction.set_rollback(True)
            return f"500 ({type(error).__name__}: {error})"
        problems = []
        if expected == "login":
            final = urlsplit(response.redirect_chain[-1][0]).path if response.redirect_chain else None
            if final != "/akun/login/" or response.status_code != 200:
                problems.append(f"got {response.status_code}, redirected to {final}, not to the login page")
        elif response.status_code != int(expected):
            location = f" -> {response['Location']}" if response.has_header("Location") else ""
            problems.append(f"got {response.status_code}{location}")
        if response.status_code >= 500:
            problems.append("a 500")
        if refused and recorder.writes:
            problems.append(f"refused, but wrote: {recorder.writes}")
        if before is not None and snapshot() != before:
            problems.append("refused, but the database changed")
        if owner_before is not None and not outcome.endswith("*") and owner_snapshot(scene) != owner_before:
            problems.append("the owner's data changed")
        # Reading a streamed body to its end also closes it (and the evidence file) the way the
        # test client means it to; calling close() here would close the database connection.
        text = body_text(response)
        if actor in STRANGERS:
            # A receipt's public check names the person by design (the code is the credential), never the NIP.
            public_name = row.startswith("assessments:receipt_verify[")
            for secret in (scene.staff.nip,) if public_name else (scene.staff.full_name, scene.staff.nip):
                if secret in text:
                    problems.append(f"the page shows the owner's {secret!r}")
        transaction.set_rollback(True)
    return "; ".join(problems) or None


# --- The tests ---------------------------------------------------------------------------------------


def test_every_url_of_the_project_is_in_the_matrix(scene):
    rows = {}
    for route in project_routes():
        for row, _url in concrete_urls(scene, route):
            rows[row] = route
    missing = sorted(f"{row} {method}" for row in rows for method in ("GET", "POST") if (row, method) not in EXPECTED)
    assert not missing, "URLs without rows in MATRIX (add a row per method, saying who may open them):\n" + "\n".join(missing)
    stale = sorted(f"{row} {method}" for row, method in EXPECTED if row not in rows)
    assert not stale, "MATRIX rows for URLs that no longer exist:\n" + "\n".join(stale)


@pytest.mark.parametrize("mode", ["reviewed", "confidential"])
def test_the_access_matrix(scene, capsys, record_property, mode):
    AssessmentPeriod.objects.filter(pk=scene.period.pk).update(visibility=mode)
    scene.assessment.period.visibility = scene.period.visibility = mode
    expected = EXPECTED_BY_MODE[mode]
    routes = project_routes()
    urls = [(row, url) for route in routes for row, url in concrete_urls(scene, route)]
    failures = []
    cells = 0
    for (row, url), method in itertools.product(urls, ("GET", "POST")):
        if (row, method) not in expected:
            failures.append(f"{row:46} {method:4} has no row in MATRIX (see test_every_url_of_the_project_is_in_the_matrix)")
            continue
        for actor, outcome in expected[(row, method)].items():
            problem = run_cell(scene, actor, method, row, url, outcome)
            cells += 1
            if problem:
                failures.append(f"{row:46} {method:4} {actor:10} expected {outcome:6} {problem}")
    size = f"{mode}: {len(routes)} URL patterns ({len(urls)} URLs with their arguments) x {len(ACTORS)} actors x 2 methods = {cells} cells"
    record_property("access_matrix", size)
    assert cells == len(urls) * len(ACTORS) * 2 or failures
    with capsys.disabled():
        print(f"\naccess matrix: {size}")
    assert not failures, f"{len(failures)} of {cells} cells differ from MATRIX:\n" + "\n".join(failures)


def unverified_admin_cell(scene, method: str, row: str, url: str) -> str | None:
    """One request of the admin whose session has no second factor, rolled back; a problem, or None."""
    with transaction.atomic():
        client = Client()
        client.force_login(scene.users["admin"])
        before = snapshot()
        recorder = WriteRecorder()
        with connection.execute_wrapper(recorder):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, post_body(scene, row.split("[")[0].split("?")[0]))
        problems = []
        location = urlsplit(response.get("Location", ""))
        if response.status_code != 302 or location.path != reverse("assessments:two_factor_verify") or parse_qs(location.query).get("next") != [url]:
            problems.append(f"got {response.status_code} {response.get('Location', '')}")
        if recorder.writes:
            problems.append(f"wrote: {recorder.writes}")
        if snapshot() != before:
            problems.append("the database changed")
        transaction.set_rollback(True)
    return "; ".join(problems) or None


def test_an_admin_whose_session_is_not_verified_is_sent_to_the_code_page(scene):
    """Every row the admin may open (200, 301, 302), GET and POST, but the pages that owe no
    second factor (middleware.TWO_FACTOR_EXEMPT: the public ones, logging out, the two-factor
    pages themselves): with a session not verified, the admin (who has an app) is sent to the
    code page instead, `next` kept, and nothing changes."""
    urls = dict(pair for route in project_routes() for pair in concrete_urls(scene, route))
    failures, checked = [], 0
    for (row, method), outcomes in EXPECTED.items():
        url = urls[row]
        if outcomes["admin"].rstrip("*") not in ("200", "301", "302") or resolve(urlsplit(url).path).view_name in TWO_FACTOR_EXEMPT:
            continue
        problem = unverified_admin_cell(scene, method, row, url)
        checked += 1
        if problem:
            failures.append(f"{row:46} {method:4} {problem}")
    assert checked > 80
    assert not failures, f"{len(failures)} of {checked} rows let the admin through without the second factor:\n" + "\n".join(failures)


def test_a_refused_bulk_approval_says_nothing_about_the_unit(scene):
    """The 405 of a GET comes before the unit is looked up: a unit that does not exist, a unit
    out of scope and a unit in scope answer alike."""
    client = Client()
    client.force_login(scene.cast.other.user)
    assert {client.get(f"/unit/{code}/setujui/").status_code for code in ("A1", "B", "TIDAK-ADA")} == {405}


def test_the_admin_urls_not_in_the_matrix_are_walked_by_the_admin_access_test(world):  # noqa: F811 - the fixture
    walked = {resolve(urlsplit(url).path).route for url in admin_urls(world)}
    admin_routes = [route for route in walk() if route.key.startswith("admin:")]
    assert len(admin_routes) > 100
    not_walked = []
    for route in admin_routes:
        if route.key in ADMIN_IN_MATRIX:
            continue
        if route.route not in walked:
            not_walked.append(f"{route.key} ({route.route})")
    assert not not_walked, (
        "admin URLs that neither tests/test_admin_access.py nor MATRIX walks (teach admin_urls() there, "
        "or add them to ADMIN_IN_MATRIX and MATRIX here):\n" + "\n".join(not_walked)
    )
    # and the admin URLs this module claims are in MATRIX
    assert {row.split("[")[0] for row, _method in EXPECTED if row.startswith("admin:")} == ADMIN_IN_MATRIX


def test_public_pages_are_public_for_everyone():
    for (row, method), outcomes in EXPECTED.items():
        if row.split("[")[0] in PUBLIC:
            assert not {"login", "403", "404"} & set(outcomes.values()), (row, method, outcomes)
    assert {row.split("[")[0] for row, _method in EXPECTED} >= PUBLIC


def test_matrix_rows_name_known_outcomes():
    known = {"200", "301", "302", "login", "403", "404", "405", "409"}
    for (row, method), outcomes in EXPECTED.items():
        for actor, outcome in outcomes.items():
            assert outcome.rstrip("*") in known, (row, method, actor, outcome)
            assert not (outcome.endswith("*") and outcome.rstrip("*") in REFUSED), (row, method, actor, outcome)
