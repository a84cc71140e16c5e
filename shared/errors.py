"""One error body everywhere: RFC 9457 problem+json with a stable `code` and the request id.

Services raise the typed errors below; the handlers installed by the app factory turn them,
validation failures, database integrity errors and anything unexpected into problem+json
in the caller's language.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.context import current_request_id
from shared.i18n import Text, render
from shared.middleware import NO_STORE, SECURITY_HEADERS

log = logging.getLogger("hamp.errors")

PROBLEM_JSON = "application/problem+json"

TITLES: dict[int, Text] = {
    400: Text("请求有误", "Bad request"),
    401: Text("未登录或登录已失效", "Not authenticated"),
    403: Text("没有权限", "Forbidden"),
    404: Text("未找到", "Not found"),
    405: Text("不支持的请求方法", "Method not allowed"),
    409: Text("数据冲突", "Conflict"),
    413: Text("内容过大", "Payload too large"),
    415: Text("不支持的内容类型", "Unsupported media type"),
    422: Text("输入有误", "Invalid input"),
    429: Text("请求过于频繁", "Too many requests"),
    500: Text("服务器内部错误", "Internal server error"),
    502: Text("上游服务出错", "Bad gateway"),
    503: Text("服务暂不可用", "Service unavailable"),
    504: Text("上游服务超时", "Gateway timeout"),
}


class Problem(Exception):
    """An error a caller can act on. `detail` may be a Text so it renders in their language."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        detail: Text | str,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(detail))
        self.detail = detail
        # RFC 9457 extension members: machine-readable facts a client shows in its own words.
        self.extensions = extensions or {}
        if code:
            self.code = code
        if status:
            self.status = status
        self.errors = errors or []
        self.headers = headers or {}


class NotFound(Problem):
    status = 404
    code = "not_found"


class Conflict(Problem):
    status = 409
    code = "conflict"


class Invalid(Problem):
    """A value that is well-formed but breaks a rule; `errors` names the fields."""

    status = 422
    code = "invalid"


class Unauthorized(Problem):
    status = 401
    code = "unauthorized"


class Forbidden(Problem):
    status = 403
    code = "forbidden"


class Unavailable(Problem):
    status = 503
    code = "service_unavailable"


def field_error(field: str, message: Text | str, code: str = "invalid") -> dict[str, Any]:
    return {"field": field, "code": code, "message": message}


def problem_body(
    status: int,
    code: str,
    detail: Text | str,
    errors: list[dict[str, Any]] | None = None,
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    title = TITLES.get(status, Text("错误", "Error"))
    return {
        "type": f"https://hamp.example/problems/{code}",
        "title": render(title),
        "status": status,
        "detail": render(detail),
        "code": code,
        "errors": [{**e, "message": render(e["message"])} for e in (errors or [])],
        "request_id": current_request_id(),
        **(extensions or {}),
    }


def problem_response(
    status: int,
    code: str,
    detail: Text | str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, code, detail, errors, extensions),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


# Pydantic error types an administrator sees most, in words they read.
_VALIDATION_MESSAGES: dict[str, Text] = {
    "missing": Text("必填", "is required"),
    "string_too_short": Text("长度至少为 {min_length}", "must have at least {min_length} characters"),
    "string_too_long": Text("长度不能超过 {max_length}", "must have at most {max_length} characters"),
    "string_type": Text("必须是文本", "must be text"),
    "string_pattern_mismatch": Text("格式不正确", "has the wrong format"),
    "int_parsing": Text("必须是整数", "must be a whole number"),
    "int_type": Text("必须是整数", "must be a whole number"),
    "int_from_float": Text("必须是整数", "must be a whole number"),
    "decimal_parsing": Text("必须是数字", "must be a number"),
    "decimal_type": Text("必须是数字", "must be a number"),
    "decimal_max_places": Text("小数位不能超过 {decimal_places} 位", "must have at most {decimal_places} decimals"),
    "finite_number": Text("必须是有限的数字", "must be a finite number"),
    "decimal_max_digits": Text("数字过大", "is too large"),
    "decimal_whole_digits": Text("数字过大", "is too large"),
    "greater_than": Text("必须大于 {gt}", "must be greater than {gt}"),
    "greater_than_equal": Text("不能小于 {ge}", "must be at least {ge}"),
    "less_than": Text("必须小于 {lt}", "must be less than {lt}"),
    "less_than_equal": Text("不能大于 {le}", "must be at most {le}"),
    "bool_parsing": Text("必须是 true 或 false", "must be true or false"),
    "bool_type": Text("必须是 true 或 false", "must be true or false"),
    "enum": Text("必须是以下之一：{expected}", "must be one of: {expected}"),
    "literal_error": Text("必须是以下之一：{expected}", "must be one of: {expected}"),
    "date_from_datetime_parsing": Text("日期格式不正确", "is not a valid date"),
    "date_parsing": Text("日期格式不正确", "is not a valid date"),
    "datetime_parsing": Text("时间格式不正确", "is not a valid date and time"),
    "json_invalid": Text("不是有效的 JSON", "is not valid JSON"),
    "model_attributes_type": Text("必须是一个对象", "must be an object"),
    "dict_type": Text("必须是一个对象", "must be an object"),
    "extra_forbidden": Text("不是允许的字段", "is not an allowed field"),
}


def _without_input(message: str, value: Any) -> Text | str:
    """Pydantic's own wording, unless it repeats what was typed (an ID card, a phone, a password
    sent back in an error lands in browser consoles and proxy logs): then a plain "invalid"."""
    typed = None if value is None or isinstance(value, dict | list) else str(value)
    if typed and len(typed) >= 3 and typed in message:
        return Text("格式不正确", "is invalid")
    return message


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        kind = err.get("type", "value_error")
        template = _VALIDATION_MESSAGES.get(kind)
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int | float)}
        if kind == "string_too_short" and ctx.get("min_length") == 1:
            template = Text("不能为空", "must not be empty")
        if template is not None:
            try:
                message: Text | str = Text(template.zh.format(**ctx), template.en.format(**ctx))
            except (KeyError, IndexError):
                message = template
        else:
            # Our own validators raise ValueError(Text): keep its wording; otherwise pydantic's.
            original = (err.get("ctx") or {}).get("error")
            if isinstance(original, ValueError) and original.args and isinstance(original.args[0], Text):
                message = original.args[0]
            else:
                message = _without_input(err.get("msg", "invalid"), err.get("input"))
        errors.append(field_error(".".join(loc) or "body", message, kind))
    return errors


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.code, exc.detail, exc.errors, exc.headers, exc.extensions)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        fields = "、".join(e["field"] for e in errors)
        detail = Text(f"以下字段有误：{fields}", f"These fields are invalid: {', '.join(e['field'] for e in errors)}")
        return problem_response(422, "validation_failed", detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = TITLES.get(exc.status_code, Text("错误", "Error"))
        detail: Text | str = title if exc.detail in (None, "Not Found", "Method Not Allowed") else str(exc.detail)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # Services check uniqueness and references first for a precise message; this is the
        # backstop for races, so it can only say what kind of conflict it was.
        log.info("integrity error: %s", exc.orig)
        return problem_response(
            409,
            "conflict",
            Text("数据已存在或仍被引用，请刷新后重试", "The record already exists or is still referenced"),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # Starlette answers this outside every middleware: the headers they add come along here.
        return problem_response(
            500,
            "internal_error",
            Text(
                f"服务器内部错误，请把请求编号 {current_request_id()} 告知管理员",
                f"Internal error; give the administrator request id {current_request_id()}",
            ),
            headers={**SECURITY_HEADERS, **NO_STORE},
        )
