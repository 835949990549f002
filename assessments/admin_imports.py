"""The admin's "Impor" for work units and staff: upload a CSV or XLSX, see a dry run (what would
be created and changed, and every row's problem), then confirm.

Between the preview and the confirmation the uploaded bytes wait in a private file under
PRIVATE_STORAGE_ROOT/imports, named by a random token that lives in the session. The form sends
the token back only so that a stale tab cannot confirm a newer upload; the file is found from
the session, never from anything the browser sends, and it is checked again before writing.

An office admin's file is checked against their own units (permissions.managed_units): a row
that names a unit, or a person, outside them is a row error, and nothing outside is written.
"""

import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import update_wrapper
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import jobs, permissions, services
from .imports import files, staff, units

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
# An abandoned preview leaves its file behind; the next upload sweeps files older than this.
PENDING_MAX_AGE = 24 * 3600
# The preview lists every error, but only this many of the changes (the counts say the rest).
CHANGES_SHOWN = 500


@dataclass(frozen=True)
class ImportKind:
    read: Callable[..., files.ImportResult]  # (data, filename, *, scope)
    write: Callable[..., files.ImportSummary]
    columns: tuple[files.Column, ...]
    notes: tuple[str, ...]
    key_label: str


KINDS = {
    "staff": ImportKind(staff.read_staff, staff.staff_import, staff.STAFF_COLUMNS, staff.NOTES, gettext_lazy("NIP")),
    "units": ImportKind(units.read_units, units.units_import, units.UNIT_COLUMNS, units.NOTES, gettext_lazy("code")),
}


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (comma or semicolon, UTF-8) or Excel .xlsx (the first sheet is read)."),
        widget=forms.FileInput(attrs={"accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:  # refused before a byte of it is read
            raise forms.ValidationError(files.too_large_message(upload.size), code="too_large")
        return upload


def finished_message(summary: files.ImportSummary) -> str:
    message = _("Import finished: %(created)s new, %(updated)s changed, %(unchanged)s unchanged.") % {
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
    }
    if summary.heads_added or summary.heads_removed:
        message += " " + _("Heads of unit: %(added)s added, %(removed)s removed.") % {
            "added": summary.heads_added,
            "removed": summary.heads_removed,
        }
    return message


def pending_file(token: str) -> Path:
    """The kept upload of a preview (the token was made by `_keep`, never taken from a browser
    without being matched against the session first)."""
    if not TOKEN.match(token):
        raise ValueError("not an import token")
    return pending_folder() / token


def pending_folder() -> Path:
    return Path(settings.PRIVATE_STORAGE_ROOT) / "imports"


def _sweep(folder: Path) -> None:
    limit = time.time() - PENDING_MAX_AGE
    for entry in folder.iterdir():
        try:
            if entry.is_file() and entry.stat().st_mtime < limit:
                entry.unlink()
        except OSError:  # another request swept it first
            pass


@dataclass(frozen=True)
class ColumnRow:
    """A line of the upload page's table of columns."""

    title: str
    required: bool
    alternative: str  # the title of the column that may stand in for this one
    aliases: tuple[str, ...]


def _column_rows(columns: tuple[files.Column, ...]) -> list[ColumnRow]:
    titles = {column.key: column.title for column in columns}
    return [ColumnRow(column.title, column.required, titles.get(column.alternative, ""), column.aliases) for column in columns]


class ImportAdminMixin:
    """Adds import/ (upload and preview) and import/confirm/ to a ModelAdmin, and an "Impor"
    button to its changelist. Set `import_kind` to "staff" or "units"."""

    import_kind = ""
    import_form_template = "admin/assessments/import_form.html"
    import_preview_template = "admin/assessments/import_preview.html"

    # --- wiring ---

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import/", self._import_view(self.import_view), name=f"{prefix}_import"),
            path("import/confirm/", self._import_view(self.import_confirm_view), name=f"{prefix}_import_confirm"),
            *super().get_urls(),
        ]

    def _import_view(self, view):
        wrapped = self.admin_site.admin_view(view)

        def guarded(request, *args, **kwargs):
            # admin_view sends the anonymous to the login page; a signed-in user without the
            # rights gets a plain 403 rather than an invitation to log in as someone else.
            if request.user.is_authenticated and not (self.admin_site.has_permission(request) and self.has_import_permission(request)):
                raise PermissionDenied
            return wrapped(request, *args, **kwargs)

        return update_wrapper(guarded, view)

    def has_import_permission(self, request) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        if self.has_import_permission(request):
            extra_context = {**(extra_context or {}), "import_url": reverse(self._url_name("import"))}
        return super().changelist_view(request, extra_context)

    def _url_name(self, view: str) -> str:
        return f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}"

    @property
    def _kind(self) -> ImportKind:
        return KINDS[self.import_kind]

    @property
    def _session_key(self) -> str:
        return f"import:{self.opts.label_lower}"

    # --- views ---

    def import_view(self, request):
        """GET: the upload form. POST: read and check the file, show the preview."""
        form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
        if form.is_bound and form.is_valid():
            upload = form.cleaned_data["file"]
            name = os.path.basename(upload.name or "")[-200:]
            data = b"".join(upload.chunks())
            result = self._kind.read(data, name, scope=permissions.managed_units(request.user))
            for message in result.file_errors:
                form.add_error("file", message)
            if not result.file_errors:
                token = self._keep(request, data, name) if result.ok else ""
                return self._render_preview(request, result, name, token)
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(request, self.import_form_template, self._context(request, _("Import %(name)s") % self._names(), form=form), status=status)

    def import_confirm_view(self, request):
        """Check the kept file again and write it; then the file is deleted."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        upload_url = reverse(self._url_name("import"))
        pending = request.session.get(self._session_key) or {}
        token = request.POST.get("token", "")
        kept = pending.get("token", "")
        if not (TOKEN.match(token) and TOKEN.match(kept) and secrets.compare_digest(token, kept)):
            messages.error(request, _("This preview is no longer valid (it expired, or another file was uploaded since). Upload the file again."))
            return HttpResponseRedirect(upload_url)
        try:
            data = (pending_folder() / kept).read_bytes()
        except OSError:
            self._discard(request)
            messages.error(request, _("This preview is no longer valid (it expired, or another file was uploaded since). Upload the file again."))
            return HttpResponseRedirect(upload_url)
        name = pending.get("name", "")
        scope = permissions.managed_units(request.user)
        result = self._kind.read(data, name, scope=scope)
        if not result.ok:  # the database changed since the preview
            self._discard(request)
            return self._render_preview(request, result, name, "")
        if len(result.rows) > settings.JOB_IMPORT_ROWS:
            # A large file is written in the background; the job takes the kept file over.
            request.session.pop(self._session_key, None)
            job = jobs.job_start(
                kind=f"import_{self.import_kind}", user=request.user, params={"model": self.import_kind, "token": kept, "name": name}, total=len(result.rows)
            )
            return HttpResponseRedirect(reverse("assessments:job", args=[job.pk]))
        try:
            summary = self._kind.write(rows=result.rows, actor=request.user, scope=scope)
        except services.ServiceError as error:
            self._discard(request)
            messages.error(request, error.message)
            return HttpResponseRedirect(upload_url)
        self._discard(request)
        messages.success(request, finished_message(summary))
        return HttpResponseRedirect(reverse(self._url_name("changelist")))

    # --- helpers ---

    def _names(self) -> dict:
        return {"name": self.opts.verbose_name_plural}

    def _context(self, request, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "columns": _column_rows(self._kind.columns),
            "notes": self._kind.notes,
            "max_megabytes": settings.IMPORT_MAX_BYTES / 1048576,
            "upload_url": reverse(self._url_name("import")),
            "confirm_url": reverse(self._url_name("import_confirm")),
            **extra,
        }

    def _render_preview(self, request, result: files.ImportResult, name: str, token: str):
        changes = result.changes
        context = self._context(
            request,
            _("Import %(name)s: preview") % self._names(),
            result=result,
            file_name=name,
            token=token,
            key_label=self._kind.key_label,
            changes=changes[:CHANGES_SHOWN],
            changes_hidden=max(len(changes) - CHANGES_SHOWN, 0),
            heads_added=result.heads_added[:CHANGES_SHOWN],
            heads_removed=result.heads_removed[:CHANGES_SHOWN],
            heads_hidden=max(len(result.heads_added) - CHANGES_SHOWN, 0) + max(len(result.heads_removed) - CHANGES_SHOWN, 0),
        )
        return TemplateResponse(request, self.import_preview_template, context)

    def _keep(self, request, data: bytes, name: str) -> str:
        """Store the bytes under a new random token, remembered in the session; return it."""
        self._discard(request)
        folder = pending_folder()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _sweep(folder)
        token = secrets.token_urlsafe(32)
        descriptor = os.open(folder / token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        request.session[self._session_key] = {"token": token, "name": name}
        return token

    def _discard(self, request) -> None:
        pending = request.session.pop(self._session_key, None) or {}
        token = pending.get("token", "")
        if TOKEN.match(token):
            (pending_folder() / token).unlink(missing_ok=True)
