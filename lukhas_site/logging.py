"""JSON logs, one object per line, with request and trace ids and no secrets.

The redaction happens in a logging.Filter on the handler, so every record is
cleaned once whatever formatter prints it: the message (after %-formatting
its arguments), the exception text, the stack and any ``extra`` fields.
"""

from __future__ import annotations

import logging
import logging.config
import traceback
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

from lukhas_site.context import current_request_id, current_span_id, current_trace_id
from lukhas_site.redaction import redact, redact_value

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "request_id", "trace_id", "span_id"}


class ContextFilter(logging.Filter):
    """Stamp each record with the ids of the request and span it belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        record.trace_id = current_trace_id()
        record.span_id = current_span_id()
        return True


class RedactionFilter(logging.Filter):
    """Rewrite a record so that nothing secret-shaped survives formatting."""

    def __init__(self, *, redact_emails: bool = False) -> None:
        super().__init__()
        self.redact_emails = redact_emails

    def filter(self, record: logging.LogRecord) -> bool:
        emails = self.redact_emails
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message, emails=emails)
        record.args = None
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact(text, emails=emails)
            # exc_text now carries the (clean) traceback; formatters use it
            # instead of re-rendering the raw exception.
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, emails=emails)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, emails=emails)
        for key, value in list(vars(record).items()):
            if key in _STANDARD_ATTRS:
                continue
            if key == "request" and hasattr(value, "method"):
                # django.request passes the request object: keep what helps.
                value = f"{value.method} {value.get_full_path()}"
            setattr(record, key, redact_value(value, emails=emails))
        return True


class LukhasJsonFormatter(JsonFormatter):
    """python-json-logger with our field names (time, level, logger, message)."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(trace_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")


def configure(*, level: str = "INFO", fmt: str = "json", redact_emails: bool = False) -> None:
    """Install the one handler on the root logger; Django and Celery log through it."""
    formatter = "lukhas_site.logging.LukhasJsonFormatter" if fmt == "json" else "logging.Formatter"
    text_format = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "context": {"()": "lukhas_site.logging.ContextFilter"},
                "redaction": {
                    "()": "lukhas_site.logging.RedactionFilter",
                    "redact_emails": redact_emails,
                },
            },
            "formatters": {
                "default": {"()": formatter} if fmt == "json" else {"format": text_format},
            },
            "handlers": {
                "console": {
                    "class": "logging.StreamHandler",
                    "formatter": "default",
                    "filters": ["context", "redaction"],
                },
            },
            "root": {"handlers": ["console"], "level": level},
            "loggers": {
                # Django's own request/server loggers propagate to root.
                "django": {"level": level, "propagate": True},
                "django.db.backends": {"level": "WARNING"},
                "celery": {"level": level},
                # uvicorn installs plain-text handlers before it imports the
                # app; taking them over here makes its lines JSON too. Its
                # access log would print raw paths (tokens in query strings),
                # so only warnings pass; our middleware logs requests instead.
                "uvicorn": {"level": level, "handlers": [], "propagate": True},
                "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
                "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
            },
        }
    )
