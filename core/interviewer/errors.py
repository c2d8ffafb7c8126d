"""The one error a failed interviewer (model) step raises, from the LLM layer up to every client.

`code` says what went wrong (see CODES), `retryable` whether trying again can help, `message` what the user reads
(in their language, with what to do; never the provider's text) and `detail` the technical cause for the log and
for staff. The API maps it to a status in one place (api/errors.py); the pages show `message` with a retry button.
"""

from __future__ import annotations

from core.i18n import t

CODES = frozenset({
    "timeout", "rate_limited", "upstream_error", "stream_interrupted", "invalid_output", "auth", "bad_request",
    "busy", "superseded", "budget_exhausted",
})


class InterviewerError(Exception):
    """A model step failed; the candidate's answer is kept, so a retry (when `retryable`) loses nothing."""

    def __init__(self, code: str, detail: str = "", *, retryable: bool = True, language: str = "zh-CN",
                 retry_after: int | None = None) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code if code in CODES else "upstream_error"
        self.detail = detail
        self.retryable = retryable
        self.language = language
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        """What the user reads, in the session's language."""
        return t(f"interviewer_error.{self.code}", self.language)

    def in_language(self, language: str) -> InterviewerError:
        """The same error, worded for a session in `language` (the LLM layer does not know it)."""
        self.language = language
        return self
