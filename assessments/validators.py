"""Validation of the Nomor Induk Pegawai (NIP), the 18-digit civil servant number."""

import datetime
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _


def validate_nip(value: str) -> None:
    """Raise ValidationError unless `value` is a structurally valid NIP.

    Layout (BKN): birth date YYYYMMDD, appointment (TMT CPNS) YYYYMM, gender digit (1 male,
    2 female), 3-digit serial. Both dates must be real and the appointment must come after birth.
    """
    # isascii(): str.isdigit() is also true of "²" or "٣", which int() then refuses (a 500).
    if not isinstance(value, str) or len(value) != 18 or not (value.isascii() and value.isdigit()):
        raise ValidationError(_("A NIP has exactly 18 digits."), code="nip_length")
    try:
        birth = datetime.date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise ValidationError(_("The birth date in this NIP (digits 1-8) is not a real date."), code="nip_birth")
    year, month = int(value[8:12]), int(value[12:14])
    if not 1 <= month <= 12 or year < 1900:
        raise ValidationError(_("The appointment month in this NIP (digits 9-14) is not a real month."), code="nip_appointment")
    if birth.year < 1900 or birth > datetime.date.today():
        raise ValidationError(_("The birth date in this NIP (digits 1-8) is not a real date."), code="nip_birth")
    if (year, month) <= (birth.year, birth.month):
        raise ValidationError(_("The appointment date in this NIP comes before the birth date."), code="nip_appointment")
    if value[14] not in "12":
        raise ValidationError(_("The gender digit of a NIP (digit 15) must be 1 or 2."), code="nip_gender")


# Magic bytes of the evidence types we accept (docs/RULES.md: checked by content, not by name).
EVIDENCE_TYPES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)
EVIDENCE_CONTENT_TYPES = {extension: content_type for _magic, content_type, extension in EVIDENCE_TYPES}


def evidence_extension(upload) -> str | None:
    """Return the file extension matching the content of an accepted evidence file (".pdf",
    ".jpg" or ".png"), judged by its first bytes, or None for anything else."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for magic, _content_type, extension in EVIDENCE_TYPES:
        if head.startswith(magic):
            return extension
    return None


def evidence_download_name(*, stored: str, original: str) -> str:
    """Return the name an evidence file is downloaded under: a safe stem of the name it was
    uploaded with and the extension of its detected type, which the stored name carries
    (".pdf", ".jpg", ".png"). The uploader's name is shown, never used: "evil.html" holding a
    PDF is served as "evil.pdf", so it never opens as a web page once saved."""
    extension = PurePath(stored).suffix.lower()
    if extension not in EVIDENCE_CONTENT_TYPES:
        extension = ""
    stem = slugify(PurePath(PurePath(original).name).stem)[:60].strip("-_") or "bukti"
    return stem + extension


def evidence_content_type(name: str) -> str:
    """Return the content type of an evidence file by the extension the app gave it."""
    return EVIDENCE_CONTENT_TYPES.get(PurePath(name).suffix.lower(), "application/octet-stream")
