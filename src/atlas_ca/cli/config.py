"""The operator's configuration on the command line: ``--config FILE`` (or
``ATLAS_CA_CONFIG``) with environment overrides (``ATLAS_CA_*``), and the workspace each
command opens from it — the library's facade, :class:`atlas_ca.app.AtlasCA` (the file's layout
and the wiring are documented there).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from atlas_ca.app import (
    ENV_CONFIG,
    MAX_CRL_HOURS,
    Actor,
    AtlasCA,
    AtlasConfig,
    SmsGateway,
    keep_ca_certificate,
    load_config,
    pin_from_environment,
    prepare_hsm_environment,
)
from atlas_ca.errors import InvalidInput

F = TypeVar("F", bound=Callable[..., Any])

OperatorConfig = AtlasConfig
"""The CLI's name of the library's configuration."""


class Workspace(AtlasCA):
    """What one command opens from the configuration, lazily, and closes at the end: the
    library's facade over the same wiring (a command is one more caller of the library)."""


def config_option(fn: F) -> F:
    """``--config FILE`` (default ``$ATLAS_CA_CONFIG``) on a command."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=ENV_CONFIG,
        help="TOML configuration (default: $ATLAS_CA_CONFIG); ATLAS_CA_* variables override it.",
    )(fn)


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(fn)


def operator_actor(name: str | None) -> Actor:
    """``operator:<name>`` from ``--operator``, ``ATLAS_CA_OPERATOR`` or the login name."""
    value = name or os.environ.get("ATLAS_CA_OPERATOR") or os.environ.get("USER") or "cli"
    try:
        return Actor(f"operator:{value}")
    except ValueError as exc:
        raise InvalidInput(f"operator name {value!r} is not an account id") from exc


def open_workspace(config_path: Path | None, *, sms: SmsGateway | None = None) -> Workspace:
    """The workspace of ``config_path``; ``sms`` sends the one-time codes (default: refuses)."""
    return Workspace(load_config(config_path), sms=sms)


__all__ = [
    "ENV_CONFIG",
    "MAX_CRL_HOURS",
    "OperatorConfig",
    "Workspace",
    "config_option",
    "json_option",
    "keep_ca_certificate",
    "load_config",
    "open_workspace",
    "operator_actor",
    "pin_from_environment",
    "prepare_hsm_environment",
]
