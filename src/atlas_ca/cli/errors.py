"""The one mapping from errors to exit codes and one-line messages (style lesson 14).

Exit codes: 0 ok; 1 refused or invalid (:class:`~atlas_ca.errors.Refused`); 2 usage error or
unreadable input (:class:`~atlas_ca.errors.InvalidInput`, click usage errors, unreadable files);
3 environment unavailable (:class:`~atlas_ca.errors.Unavailable`).
"""

from __future__ import annotations

import enum
import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click

from atlas_ca.errors import AtlasCaError, InvalidInput, Refused, Unavailable


class ExitCode(enum.IntEnum):
    OK = 0
    REFUSED = 1
    INPUT = 2
    UNAVAILABLE = 3


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code of ``error``; categories are checked input → refused → unavailable."""
    if isinstance(error, InvalidInput):
        return ExitCode.INPUT
    if isinstance(error, Refused):
        return ExitCode.REFUSED
    if isinstance(error, Unavailable):
        return ExitCode.UNAVAILABLE
    if isinstance(error, OSError | click.UsageError):
        return ExitCode.INPUT
    return ExitCode.REFUSED


def shown(text: str, limit: int = 40) -> str:
    """``text`` for a message: at most ``limit`` characters of it (then ``…``), non-UTF-8 bytes
    and control characters escaped — a message never echoes an unbounded input."""
    head = text[:limit]
    try:  # undecodable bytes of argv come back as the bytes they were (\xff)
        raw = head.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = head.encode("utf-8", "backslashreplace")
    head = raw.decode("utf-8", "backslashreplace")
    head = "".join(c if c.isprintable() else repr(c)[1:-1] for c in head)
    return f"'{head}{'…' if len(text) > limit else ''}'"


def not_utf8_argument(args: list[str]) -> tuple[int, str] | None:
    """The first command-line argument (1-based) that is not UTF-8 text, if any: Python holds
    its undecodable bytes as lone surrogates, which nothing downstream can encode."""
    for number, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return number, arg
    return None


def one_line(error: BaseException) -> str:
    text = str(error) if isinstance(error, AtlasCaError | OSError) else f"{error}"
    return " ".join(text.split()) or type(error).__name__


P = ParamSpec("P")
R = TypeVar("R")


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator for commands: our errors and OS errors become one line on stderr and an exit."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (AtlasCaError, OSError) as exc:
            code = exit_code_for(exc)
            label = "invalid" if code == ExitCode.REFUSED else "error"
            click.echo(f"atlas-ca: {label}: {one_line(exc)}", err=True)
            sys.exit(int(code))

    return wrapper


__all__ = ["ExitCode", "exit_code_for", "handle_errors", "not_utf8_argument", "one_line", "shown"]
