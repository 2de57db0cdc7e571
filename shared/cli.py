"""The operator CLI: ``trainingops …``."""
from __future__ import annotations

from typing import Annotated

import typer

from shared.auth import ROLES, mint_token
from shared.settings import LOCAL_JWT_SECRET

app = typer.Typer(help="TrainingOps operator commands", no_args_is_help=True)


@app.callback()
def _root() -> None:
    """TrainingOps operator commands."""


@app.command()
def token(
    role: Annotated[list[str], typer.Option("--role", "-r", help=f"one of {', '.join(ROLES)}")],
    campus: Annotated[list[str], typer.Option("--campus", "-c", help="campus code, or * for all")] = ["*"],
    sub: Annotated[str, typer.Option(help="subject (staff or trainee id)")] = "local-staff",
    hours: Annotated[int, typer.Option(help="lifetime in hours")] = 8,
    secret: Annotated[str, typer.Option(envvar="TRAININGOPS_JWT_SECRET", help="HS256 secret")] = LOCAL_JWT_SECRET,
) -> None:
    """Mint an HS256 staff or trainee token for a local run."""
    unknown = [r for r in role if r not in ROLES]
    if unknown:
        raise typer.BadParameter(f"unknown role(s): {', '.join(unknown)}")
    typer.echo(mint_token(sub, role, campus, secret=secret, ttl_s=hours * 3600))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
