"""``atlas-ca demo``: the whole life of a CA on a fresh SoftHSM token (:mod:`.scenario`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from atlas_ca.cli.demo.scenario import describe, run_demo
from atlas_ca.cli.errors import handle_errors


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Working directory; wiped and recreated (only if empty or made by an earlier demo).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report instead of text.")
@handle_errors
def demo(directory: Path, as_json: bool) -> None:
    """Run the whole life of a CA and verify every artifact with outside tools.

    A SoftHSM token is initialised in DIR (SOFTHSM2_CONF there; ATLAS_CA_SOFTHSM_MODULE and
    ATLAS_CA_SOFTHSM_UTIL name SoftHSM built with GOST). The demo creates a CA with its GOST key
    on the token, verifies a subscriber through a registrar whose signature attests the record,
    places and pays an order, issues two qualified certificates with one-time codes, revokes
    one, publishes a CRL, and checks everything with OpenSSL's gost engine and certtool.

    Exit 0 when every step and every verifier agreed, 1 when one refused, 3 when SoftHSM or
    OpenSSL with the gost engine is missing.

    \b
    Examples:
      atlas-ca demo
      atlas-ca demo --dir /tmp/ca-demo --json
      scripts/demo.sh            # bootstrap first, then this command
    """
    report = run_demo(directory, say=(lambda _line: None) if as_json else click.echo)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "seconds": round(report.seconds, 2),
                    "directory": str(report.directory),
                    "steps": [
                        {"name": s.name, "ok": s.ok, "detail": s.detail} for s in report.steps
                    ],
                    "files": {k: str(v) for k, v in report.files.items()},
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for line in describe(report):
        click.echo(line)


__all__ = ["demo"]
