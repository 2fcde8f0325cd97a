"""Typed errors. Each carries its HTTP status; one handler (lrs.http.errors)
turns any of them into the one JSON error body. Pure: no framework imports."""

from __future__ import annotations


class LRSError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers or {}


class BadRequest(LRSError):
    status = 400
    code = "bad_request"


class ValidationError(BadRequest):
    """A statement or parameter broke a rule of the spec.

    `path` names the property (`statement[3].context.registration`),
    `rule` says what was wrong with it."""

    def __init__(self, path: str, rule: str) -> None:
        super().__init__(f"{path}: {rule}" if path else rule, field=path or None)
        self.path = path
        self.rule = rule


class Unauthorized(LRSError):
    status = 401
    code = "unauthorized"


class Forbidden(LRSError):
    status = 403
    code = "forbidden"


class NotFound(LRSError):
    status = 404
    code = "not_found"


class MethodNotAllowed(LRSError):
    status = 405
    code = "method_not_allowed"


class RequestTimeout(LRSError):
    status = 408
    code = "request_timeout"


class Conflict(LRSError):
    status = 409
    code = "conflict"


class PreconditionFailed(LRSError):
    status = 412
    code = "precondition_failed"


class PayloadTooLarge(LRSError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(LRSError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(LRSError):
    status = 429
    code = "too_many_requests"


class ServiceUnavailable(LRSError):
    status = 503
    code = "service_unavailable"


def describe(exc: BaseException) -> str:
    """An exception as a log line names it: its class, and its message if any."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
