"""Two-factor sign-in (django-otp) for those `permissions.needs_second_factor` names: one
authenticator app (a TOTP device, confirmed by a first code) and ten single-use recovery codes
(a static device) per person. The pages are in views/two_factor.py; TwoFactorMiddleware sends
whoever owes a second factor to them.

Wrong codes are throttled by django-otp, per device: after n wrong codes in a row the next is
not even checked for 2^(n-1) seconds."""

import base64
import logging
import math

import django_otp
import qrcode
import qrcode.image.svg
from django.db import transaction
from django.shortcuts import resolve_url
from django.utils import timezone
from django.utils.http import urlencode
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
# What the person sees in their list of devices; the app names its entry after OTP_TOTP_ISSUER.
TOTP_DEVICE_NAME = "Aplikasi autentikator"
RECOVERY_DEVICE_NAME = "Kode pemulihan"


class CodeRefused(Exception):
    """A code was not accepted. `code`: "invalid" (wrong, or used already) or "throttled" (too
    many wrong codes in a row: not checked, try again in `wait_seconds`)."""

    def __init__(self, code: str, wait_seconds: int = 0):
        super().__init__(code)
        self.code = code
        self.wait_seconds = wait_seconds


def page_with_next(name: str, next_url: str) -> str:
    """The address of the two-factor page `name` that sends on to `next_url` once done."""
    return f"{resolve_url(name)}?{urlencode({'next': next_url})}"


def totp_device_of(user) -> TOTPDevice | None:
    """Return the user's confirmed authenticator app, or None: not enrolled (yet)."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def recovery_codes_left(user) -> int:
    """Return how many unused recovery codes the user has."""
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def enrolment_device(user) -> TOTPDevice:
    """Return the user's unconfirmed authenticator app, made on first asking: its secret stays
    the same until confirmed, so that reloading the page does not void a scanned QR code."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def secret_groups(device: TOTPDevice) -> str:
    """Return the secret as authenticator apps take it typed in: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_data_uri(device: TOTPDevice) -> str:
    """Return the device's otpauth:// address as a QR code: an SVG (drawn here, no style
    attribute, as the CSP wants) in a data: URI for an <img>."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathFillImage, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


def _throttled_for(device: Device) -> int | None:
    """Seconds until `device` checks a code again after wrong ones, or None: it checks now."""
    allowed, extra = device.verify_is_allowed()
    if allowed:
        return None
    until = (extra or {}).get("locked_until")
    return max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 1


def _code_check(device: Device, code: str) -> CodeRefused | None:
    """Check one code against `device` (locked for the check: a code is never accepted twice)."""
    wait = _throttled_for(device)
    if wait is not None:
        return CodeRefused("throttled", wait)
    if not device.verify_token(code):  # records the failure: the throttle grows
        return CodeRefused("invalid")
    return None


def code_verify(*, user, code: str) -> Device:
    """Return the device that accepts `code`: the authenticator app for six digits, else the
    recovery codes (a recovery code is used up). Raises CodeRefused."""
    model = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    with transaction.atomic():
        device = model.objects.devices_for_user(user, confirmed=True).select_for_update().first()
        refused = CodeRefused("invalid") if device is None else _code_check(device, code)
    # Raised outside the transaction: the failure count it recorded stays.
    if refused is not None:
        logger.warning("two-factor code refused (%s) for user id %s", refused.code, user.pk)
        raise refused
    return device


def enrolment_confirm(*, device: TOTPDevice, code: str) -> list[str]:
    """Confirm the authenticator app with its first code, and give the person new recovery
    codes (any older ones are void). Return the codes. Raises CodeRefused."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(pk=device.pk, confirmed=False).first()
        refused = CodeRefused("invalid") if device is None else _code_check(device, code)
        if refused is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.devices_for_user(device.user, confirmed=False).delete()
            codes = recovery_codes_replace(user=device.user)
    if refused is not None:
        raise refused
    return codes


def recovery_codes_replace(*, user) -> list[str]:
    """Void the user's recovery codes and make RECOVERY_CODE_COUNT new ones; return them (they
    are shown once)."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
        codes = set()
        while len(codes) < RECOVERY_CODE_COUNT:
            codes.add(StaticToken.random_token())
        codes = sorted(codes)
        StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def session_verify(request, device: Device) -> None:
    """Mark the session as verified with `device`, under a new session key (a key seen before
    the second factor is worth nothing after it)."""
    django_otp.login(request, device)
    request.session.cycle_key()
