"""The ``atlas-ca`` command line (click). Commands live in their own modules and register here.

Errors map to exit codes in one place, :mod:`atlas_ca.cli.errors`.
"""

from __future__ import annotations

from typing import Any

import click

from atlas_ca import __version__
from atlas_ca.cli.errors import not_utf8_argument, shown


class _BadArgument(click.ClickException):
    """A command-line argument that is not UTF-8 text: one line, exit 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"atlas-ca: error: {self.format_message()}", err=True)


class _Main(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        bad = not_utf8_argument(args)
        if bad is not None:
            number, text = bad
            raise _BadArgument(f"argument {number} is not UTF-8 text: {shown(text)}")
        return super().parse_args(ctx, args)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="atlas-ca")
def main() -> None:
    """atlas-ca: the core of an accredited Russian certificate authority."""


def _register() -> None:
    from atlas_ca.cli.certificates import crl, issue, resume, revoke, suspend
    from atlas_ca.cli.demo import demo
    from atlas_ca.cli.doctor import audit, doctor
    from atlas_ca.cli.hsm import hsm
    from atlas_ca.cli.init import init
    from atlas_ca.cli.lint import lint
    from atlas_ca.cli.order import account, order
    from atlas_ca.cli.renew import renew
    from atlas_ca.cli.show import show
    from atlas_ca.cli.subscriber import authority, registrar, subscriber
    from atlas_ca.cli.verify import verify

    main.add_command(demo)
    for command in (doctor, hsm, init, issue, revoke, suspend, resume, crl, audit):
        main.add_command(command)
    for command in (subscriber, registrar, authority, order, account):
        main.add_command(command)
    main.add_command(lint)
    main.add_command(show)
    main.add_command(verify)
    from atlas_ca.cli.serve import serve, service_cert

    main.add_command(serve)
    main.add_command(service_cert)
    main.add_command(renew)


_register()

__all__ = ["main"]
