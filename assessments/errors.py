"""The error a business rule raises: `services.ServiceError` (and its kinds). Kept apart so that
every module that refuses a change (services, summaries, periods, imports, reorganise) can raise
it without importing the services."""

from django.utils.translation import gettext_lazy


class ServiceError(Exception):
    """A business rule refused the change; `message` is shown to the user as it is, `code` names
    the rule.

    A rule that a form or a view also checks, to answer before the service is asked, keeps its
    message here under its code: they show `error_messages[code]`, the service raises
    `ServiceError(code=code)`, and the message exists once.
    """

    error_messages = {
        "unknown_indicator": gettext_lazy(
            "The form contained an indicator that is not part of this period. Reload the page and try again."
        ),
        "incomplete": gettext_lazy("Answer every indicator (and give the notes asked for) before submitting."),
        "note_required": gettext_lazy("Write a note telling the person what to correct."),
        # One message for a wrong, used or expired activation code: it never says which (activation.py).
        "code_invalid": gettext_lazy(
            "This activation code cannot be used: the NIP or the code is wrong, or the code has been used or has expired. "
            "Check both, or ask the HR office (Admin Kepegawaian) for a new letter."
        ),
    }

    def __init__(self, message: str | None = None, code: str = "invalid"):
        message = str(self.error_messages[code]) if message is None else message
        super().__init__(message)
        self.message = message
        self.code = code


class StaleDraft(ServiceError):
    pass
