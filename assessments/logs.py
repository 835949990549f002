"""Log lines without personal data (UU PDP 27/2022): NIPs and e-mail addresses are masked in
everything the app's log handler writes, tracebacks and database errors included."""

import logging
import re

NIP = re.compile(r"(?<!\d)\d{18}(?!\d)")
# An address starts where a run of such characters starts (the look-behind): without it, a long
# run with no "@" is scanned again from each of its characters, quadratic in the line's length.
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    return EMAIL.sub("[e-mail]", NIP.sub("[NIP]", text))


class RedactingFormatter(logging.Formatter):
    def format(self, record):
        return redact(super().format(record))
