"""The operator CLI: ``trainingops …`` (``trainingops --help`` lists the commands)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.auth import ROLES, mint_token
from shared.logging import configure_logging
from shared.registry import BY_NAME, NAMES
from shared.settings import LOCAL_JWT_SECRET
from shared.spreadsheets import read_rows, write_csv
from trainingops import dlq

app = typer.Typer(help="TrainingOps operator commands", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-letter topics: list and replay", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports from CSV or XLSX", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
accounts_app = typer.Typer(help="Payout accounts (certification)", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(accounts_app, name="accounts")
console = Console()

Bootstrap = Annotated[str, typer.Option(envvar="TRAININGOPS_KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap")]
Token = Annotated[str, typer.Option(envvar="TRAININGOPS_TOKEN", help="bearer token (default: a local admin token)")]


def service_url(service: str) -> str:
    """``<SERVICE>_URL``, else where ``make run`` starts it (its port in ``shared.registry``)."""
    registered = BY_NAME[service]
    return os.environ.get(f"{registered.env}_URL", registered.local_url())


def _check_service(service: str) -> str:
    if service not in BY_NAME:
        raise typer.BadParameter(f"one of {', '.join(NAMES)}")
    return service


def _token(given: str) -> str:
    return given or mint_token(
        "operator",
        ["campus_admin"],
        ["*"],
        secret=os.environ.get("TRAININGOPS_JWT_SECRET", LOCAL_JWT_SECRET),
        ttl_s=3600,
    )


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


@dlq_app.command("list")
def dlq_list(
    service: Annotated[str, typer.Argument(callback=_check_service)], bootstrap: Bootstrap = "127.0.0.1:9092"
) -> None:
    """Show the dead letters of a consumer, with the error of each."""
    letters = dlq.list_dead_letters(bootstrap, service)
    table = Table(
        title=f"trainingops.{service}.dlq ({len(letters)} message(s), "
        f"{dlq.pending(bootstrap, service)} not yet replayed)"
    )
    for column in ("partition", "offset", "event type", "from topic", "attempts", "error"):
        table.add_column(column)
    for d in letters:
        error = f"{d.headers.get('dlq.error.type', '')}: {d.headers.get('dlq.error.message', '')}"[:120]
        table.add_row(
            str(d.partition),
            str(d.offset),
            d.headers.get("dlq.event.type", "(unparseable)"),
            d.original_topic,
            str(d.attempts),
            error,
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(
    service: Annotated[str, typer.Argument(callback=_check_service)],
    bootstrap: Bootstrap = "127.0.0.1:9092",
    max_attempts: Annotated[
        int, typer.Option(min=1, help="leave alone letters that failed this often")
    ] = dlq.MAX_ATTEMPTS,
) -> None:
    """Send every dead letter not yet replayed to the consumer's own retry topic, trainingops.SERVICE.retry:
    only that consumer sees it again (and deduplicates by event id); a letter that fails again returns to the
    DLQ with one attempt more."""
    total = dlq.pending(bootstrap, service)
    with Progress(
        TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("replay", total=total)
        count = dlq.replay(bootstrap, service, on_each=lambda _d: progress.advance(task), max_attempts=max_attempts)
    console.print(f"replayed {count} message(s) from trainingops.{service}.dlq to trainingops.{service}.retry")


@import_app.command("applications")
def import_applications(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv or .xlsx")],
    cohort: Annotated[str, typer.Option(help="cohort id")],
    chunk: Annotated[int, typer.Option(min=1, max=5000, help="rows per request")] = 200,
    report: Annotated[Path | None, typer.Option(help="write the per-row report to this CSV")] = None,
    bearer: Token = "",
) -> None:
    """Import applications (and their applicants) into a cohort, with a progress bar and a per-row report."""
    rows = read_rows(file.read_bytes(), file.name)
    if not rows:
        raise typer.BadParameter("the file has no rows")
    headers = list(rows[0].keys())
    results: list[dict] = []
    with (
        httpx.Client(
            base_url=service_url("enrollment"), timeout=120, headers={"Authorization": f"Bearer {_token(bearer)}"}
        ) as client,
        Progress(
            TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress,
    ):
        task = progress.add_task("import", total=len(rows))
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            body = write_csv(headers, [[r.get(h, "") for h in headers] for r in part])
            r = client.post(
                f"{BY_NAME['enrollment'].api}/applications/import",
                data={"cohort_id": cohort},
                files={"file": ("part.csv", io.BytesIO(body), "text/csv")},
            )
            if r.status_code != 200:
                console.print(f"[red]refused: {r.status_code} {r.json().get('detail', r.text)}")
                raise typer.Exit(1)
            for row in r.json()["report"]:
                row["row"] = row["row"] + start  # the row number in the whole file
                results.append(row)
            progress.advance(task, len(part))
    imported = sum(1 for r in results if r["status"] == "imported")
    refused = [r for r in results if r["status"] == "refused"]
    table = Table(title=f"{imported} imported, {len(refused)} refused")
    table.add_column("row")
    table.add_column("refused because")
    for r in refused[:50]:
        table.add_row(str(r["row"]), "; ".join(f"{e.get('field') or ''} {e['message']}" for e in r["errors"]))
    console.print(table)
    if report:
        report.write_bytes(
            write_csv(
                ["row", "status", "application_id", "application_status", "errors"],
                [
                    [
                        r["row"],
                        r["status"],
                        r.get("application_id") or "",
                        r.get("application_status") or "",
                        "; ".join(f"{e['rule']}: {e['message']}" for e in r["errors"]),
                    ]
                    for r in results
                ],
            )
        )
        console.print(f"report written to {report}")


@accounts_app.command("rotate")
def rotate_accounts(
    chunk: Annotated[int, typer.Option(min=1, max=1000, help="accounts re-encrypted per request")] = 500,
    bearer: Token = "",
) -> None:
    """Re-encrypt every stored payout account number under the newest key of CERTIFICATION_ACCOUNT_KEYS.

    Put the new key first in CERTIFICATION_ACCOUNT_KEYS (keeping the old ones after it), restart certification,
    run this, then drop the old keys."""
    api = f"{BY_NAME['certification'].api}/accounts/rotate"
    with (
        httpx.Client(
            base_url=service_url("certification"), timeout=120, headers={"Authorization": f"Bearer {_token(bearer)}"}
        ) as client,
        Progress(
            TextColumn("re-encrypting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress,
    ):
        task = progress.add_task("rotate", total=None)
        rotated = 0
        while True:
            r = client.post(api, params={"limit": chunk})
            if r.status_code != 200:
                progress.stop()
                console.print(f"[red]refused: {r.status_code} {r.json().get('detail', r.text)}")
                raise typer.Exit(1)
            answer = r.json()
            rotated += answer["rotated"]
            progress.update(task, completed=rotated, total=rotated + answer["remaining"])
            if answer["remaining"] == 0 or answer["rotated"] == 0:
                break
    if answer["remaining"]:
        console.print(f"[red]{answer['remaining']} account(s) still under an older key")
        raise typer.Exit(1)
    console.print(f"re-encrypted {rotated} account number(s) under key {answer['key_id']}; the older keys can go")


@app.command()
def export(
    service: Annotated[str, typer.Argument(callback=_check_service)],
    path: Annotated[str, typer.Argument(help="API path under /<service>/v1, e.g. reports/employment")],
    out: Annotated[Path, typer.Option(help="where to write the file")] = Path("report.xlsx"),
    param: Annotated[list[str], typer.Option(help="query parameter key=value, repeatable")] = [],
    bearer: Token = "",
) -> None:
    """Download any report or sheet of a service as XLSX (or CSV when --out ends in .csv)."""
    params = dict(p.split("=", 1) for p in param)
    params.setdefault("format", "csv" if out.suffix == ".csv" else "xlsx")
    with httpx.Client(
        base_url=service_url(service), timeout=300, headers={"Authorization": f"Bearer {_token(bearer)}"}
    ) as client:
        with console.status(f"exporting {path}"):
            r = client.get(f"{BY_NAME[service].api}/{path.lstrip('/')}", params=params)
    if r.status_code != 200:
        console.print(f"[red]{r.status_code}: {r.text[:500]}")
        raise typer.Exit(1)
    out.write_bytes(r.content)
    console.print(f"wrote {out} ({len(r.content):,} bytes)")


@app.command()
def demo(
    run: Annotated[
        str, typer.Option(help="suffix that makes this run's programme codes unique (default: the time)")
    ] = "",
    timeout: Annotated[float, typer.Option(min=1, help="seconds to wait for each event to arrive")] = 90.0,
) -> None:
    """Drive a complete journey for a demo centre (Jungbu, Dongbu, Bukbu) through the public APIs of a running
    platform (`make run`; ENROLLMENT_URL etc. otherwise), printing what happened at each service."""
    from datetime import datetime

    from trainingops import demo as journey

    urls = {s: service_url(s) for s in NAMES}
    down = []
    for service, url in urls.items():
        try:
            httpx.get(f"{url}/healthz", timeout=5).raise_for_status()
        except httpx.HTTPError as exc:
            down.append(f"{service} at {url} ({type(exc).__name__})")
    if down:
        console.print("[red]not reachable: " + "; ".join(down) + ". Start the platform with `make run`.")
        raise typer.Exit(1)
    run = run or datetime.now().strftime("%y%m%d%H%M%S")
    colours = {"enrollment": "cyan", "attendance": "green", "certification": "magenta", "placement": "yellow"}

    def say(service: str, what: str) -> None:
        console.print(f"[bold {colours[service]}]{service:<13}[/] {what}", highlight=False)

    console.rule(f"TrainingOps demo centre, run {run}")
    clients = journey.Clients.open(urls)
    results = []
    try:
        for code, name in journey.CAMPUSES.items():
            created = journey.ensure_campus(clients.enrollment, code, name)
            say("enrollment", f"campus {code}: {name} ({'created' if created else 'already there'})")
        for spec, people, capacity in journey.demo_centre(run):
            console.rule(f"{spec.campus}: {spec.title}")
            results.append(
                journey.run_cohort_journey(
                    clients, spec, people, capacity=capacity, label=f"demo-{run}", report=say, timeout=timeout
                )
            )
    except journey.StepFailed as exc:
        console.print(f"[red]the journey stopped: {exc}")
        raise typer.Exit(1) from None
    finally:
        clients.close()
    table = Table(title=f"Demo centre, run {run}: the whole journey")
    for column in (
        "campus",
        "programme",
        "applied",
        "selected (quota)",
        "waitlisted",
        "completed",
        "not completed",
        "exam fees paid",
        "graduates followed",
        "employment rate",
    ):
        table.add_column(column)
    for j in results:
        rate = j.report["total"]["employment_rate"]
        table.add_row(
            j.cohort["campus"],
            j.programme["code"],
            str(len(j.applications)),
            f"{j.selection['selected']} ({j.selection['priority_selected']})",
            str(j.selection["waitlisted"]),
            str(len(j.completers)),
            str(len(j.non_completers)),
            f"{j.payment.payout['amount']:,} KRW" if j.payment else "-",
            str(j.report["total"]["completers"]),
            f"{rate['numerator']}/{rate['denominator']}"
            + (f" = {rate['percent']}%" if rate["percent"] is not None else ""),
        )
    console.print(table)
    console.print("[bold green]demo complete[/]: every step answered and every event arrived.")


def main() -> None:
    # Log lines go to stderr as JSON: stdout is the command's output (``TOKEN=$(trainingops token …)``).
    configure_logging("cli", os.environ.get("TRAININGOPS_LOG_LEVEL", "WARNING"), to="stderr")
    app()


if __name__ == "__main__":
    main()
