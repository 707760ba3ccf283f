"""Errors as JSON a person can act on ({"message", "problems", "matches"}), never a stack trace."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.schemas import Error
from matcher.errors import InputError

MESSAGES = {  # for errors raised by the framework itself
    404: "no such page: see /docs for the API",
    405: "method not allowed: the API is read-only (GET, and POST for computations)",
}

UNPARSED = {UnicodeDecodeError: "the body is not UTF-8 text", RecursionError: "nested too deeply"}
NOT_AN_OBJECT = "the body must be a JSON object sent as Content-Type: application/json, such as {\"profile\": {...}}"


class ApiError(Exception):
    def __init__(self, status: int, message: str, matches: list[dict] | None = None):
        super().__init__(message)
        self.status, self.message, self.matches = status, message, matches or []


def error_response(status: int, message: str, **fields) -> JSONResponse:
    return JSONResponse(Error(message=message, **fields).model_dump(), status_code=status)


def _field(location: tuple) -> str:
    """('query', 'k') -> 'k'; ('body', 'profile', 'latitude') -> 'profile.latitude'."""
    return ".".join(str(part) for part in location[1:]) or str(location[0])


def _problem(error: dict) -> dict:
    if error["type"] == "json_invalid":
        return {"field": "body", "message": f"malformed JSON: {error['ctx']['error']} at character {error['loc'][1]}"}
    if tuple(error["loc"]) == ("body",) and error["type"] in ("dict_type", "model_attributes_type", "missing"):
        return {"field": "body", "message": NOT_AN_OBJECT}  # none, another content type, a JSON array or null
    return {"field": _field(tuple(error["loc"])), "message": error["msg"].removeprefix("Value error, ")}


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.message, matches=exc.matches)


async def _input(request: Request, exc: InputError) -> JSONResponse:
    """The engine's refusals of request values (unknown country, vocabulary id, partner id)."""
    return error_response(422, str(exc))


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [_problem(error) for error in exc.errors()]
    message = "invalid request: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return error_response(422, message, problems=problems)


async def _http(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 400 and exc.__cause__ is not None:  # FastAPI's when the body could not be parsed
        reason = UNPARSED.get(type(exc.__cause__), "it could not be parsed")
        problem = {"field": "body", "message": f"malformed JSON: {reason}"}
        return error_response(422, f"invalid request: body: {problem['message']}", problems=[problem])
    response = error_response(exc.status_code, MESSAGES.get(exc.status_code, str(exc.detail)))
    response.headers.update(exc.headers or {})
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(InputError, _input)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)


def documented(*statuses: int) -> dict:
    """OpenAPI `responses` for these error statuses, all with the Error body."""
    return {status: {"model": Error} for status in statuses}
