"""``sdm-runtime``: run the embedded broker, the model service, the training, the evaluation and the demo."""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from pathlib import Path

import click
import httpx

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _check_port_free(host: str, port: int) -> None:
    """Say so clearly when the address is taken, rather than letting the server die with its own code."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as err:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {err.strerror or err} (is another broker or runtime running?)"
        ) from err


def _wait_for_broker(url: str, seconds: float) -> None:
    """Fail with a clear message, not a traceback, when the broker cannot be reached."""
    deadline = time.monotonic() + seconds
    probe = url.rstrip("/") + "/ngsi-ld/v1/entities?type=MLModel&limit=1"
    while True:
        try:
            httpx.get(probe, timeout=2.0)
            return
        except httpx.HTTPError as err:
            if time.monotonic() >= deadline:
                raise click.ClickException(f"cannot reach the NGSI-LD broker at {url}: {err}") from err
            time.sleep(0.2)


def _context_files(
    context: click.Context, parameter: click.Parameter, value: tuple[str, ...]
) -> dict[str, Path]:
    """``URL=FILE`` options: each FILE a JSON-LD context document, checked before the broker starts."""
    files: dict[str, Path] = {}
    for item in value:
        url, equals, file_name = item.partition("=")
        if not equals or not url or not file_name:
            raise click.BadParameter(f"{item!r}: expected URL=FILE", ctx=context, param=parameter)
        path = Path(file_name)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise click.BadParameter(f"{file_name}: {error}", ctx=context, param=parameter) from None
        if not isinstance(document, dict) or "@context" not in document:
            message = f"{file_name}: not a JSON-LD context document (no top-level @context)"
            raise click.BadParameter(message, ctx=context, param=parameter)
        files[url] = path
    return files


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what the runtime does.")
def main(verbose: bool) -> None:
    """Reference runtime of the MachineLearning Smart Data Models."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=1026, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on."
)
@click.option(
    "--db",
    "db_path",
    default="var/broker.sqlite",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite file holding entities and subscriptions.",
)
@click.option(
    "--context",
    "contexts",
    multiple=True,
    callback=_context_files,
    metavar="URL=FILE",
    help="Also know the @context at URL, read from FILE (the broker never fetches one); repeatable.",
)
def broker(host: str, port: int, db_path: str, contexts: dict[str, Path]) -> None:
    """Run the embedded NGSI-LD broker (a subset of the API, persisted in SQLite)."""
    from reference_runtime.broker.server import run

    if port:
        _check_port_free(host, port)
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    click.echo(f"NGSI-LD broker on http://{host}:{port}/ngsi-ld/v1, data in {db_path}", err=True)
    run(host=host, port=port, db_path=db_path, log_level="warning", extra_contexts=contexts)


@main.command()
@click.option(
    "--broker",
    "broker_url",
    default="http://127.0.0.1:1026",
    show_default=True,
    help="Base URL of the NGSI-LD broker (Orion-LD, Scorpio, Stellio or the embedded one).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=5001, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on."
)
@click.option(
    "--public-url",
    default=None,
    help="URL at which the broker reaches this service [default: http://HOST:PORT].",
)
@click.option(
    "--model-entity",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="MLModel entity (keyValues JSON) to register [default: the bundled digit model].",
)
@click.option("--wait", default=15.0, show_default=True, help="Seconds to wait for the broker at start.")
@click.option(
    "--reconcile-interval",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between two checks of the jobs and their subscriptions against the broker.",
)
def serve(
    broker_url: str,
    host: str,
    port: int,
    public_url: str | None,
    model_entity: Path | None,
    wait: float,
    reconcile_interval: float,
) -> None:
    """Run the model service: register the model, follow its MLProcessing jobs, serve /predict."""
    import uvicorn

    from reference_runtime.app import create_app
    from reference_runtime.inference import load_classifier
    from reference_runtime.service import ModelService, ServiceConfig

    try:
        classifier, entity = load_classifier(model_entity)
    except (OSError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    _check_port_free(host, port)
    _wait_for_broker(broker_url, wait)
    config = ServiceConfig(
        broker_url=broker_url,
        public_url=public_url or f"http://{host}:{port}",
        reconcile_interval=reconcile_interval,
    )
    app = create_app(ModelService(config, classifier, entity))
    click.echo(
        f"model service for {entity['id']} (version {entity.get('version')}) on http://{host}:{port}, "
        f"broker {broker_url}",
        err=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True}, add_help_option=False
)
@click.pass_context
def train(ctx: click.Context) -> None:
    """Train the digit CNN on the bundled MNIST subset and export ONNX (needs the 'train' extra)."""
    from reference_runtime.train import main as train_main

    sys.exit(train_main(list(ctx.args)))


@main.command()
@click.option(
    "--model-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder holding mlmodel.json and the ONNX file [default: the bundled model].",
)
@click.option(
    "--count",
    type=click.IntRange(1, 1000),
    default=None,
    help="Evaluate only the first N held-out digits of each set, a quick check that rewrites nothing "
    "unless --write is given [default: all 1000, and the model's metrics, card and plot are rewritten].",
)
@click.option(
    "--write/--no-write",
    default=None,
    help="Rewrite the model's metrics, evaluation, card and plot [default: only for a whole measurement].",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes rendering the images; the results do not depend on it [default: 2, or 1 on one core].",
)
def evaluate(model_dir: Path | None, count: int | None, write: bool | None, jobs: int | None) -> None:
    """Measure the model on the held-out digits and every variant; rewrite its metrics and model card."""
    from reference_runtime.evaluate import (
        TARGET_HOLDOUT_ACCURACY,
        TARGET_VARIANT_ACCURACY,
        evaluate_published,
    )
    from reference_runtime.train import default_jobs

    try:
        written = count is None if write is None else write
        _, evaluation = evaluate_published(model_dir, count=count, jobs=jobs or default_jobs(), write=written)
    except (OSError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    below = False
    for result in evaluation.sets:
        target = TARGET_HOLDOUT_ACCURACY if result.name == "holdout" else TARGET_VARIANT_ACCURACY
        mark = "" if result.accuracy >= target else f"  below the {target:.1%} target"
        below = below or bool(mark)
        click.echo(f"{result.name:<10} {result.accuracy:8.2%}  ({result.sample_count} images){mark}")
    folder = model_dir or Path(__file__).resolve().parent / "model"
    if written:
        click.echo(
            f"wrote mlmodel.json, evaluation.json, README.md and confusion-matrix.png in {folder}", err=True
        )
    else:
        click.echo(f"nothing rewritten in {folder} (--write to rewrite it)", err=True)
    sys.exit(EXIT_FAILED if below else EXIT_OK)


@main.command("variants")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--count", default=10, show_default=True, type=click.IntRange(1, 1000), help="Digits per variant."
)
@click.option(
    "--variant",
    "names",
    multiple=True,
    help="Only this variant (repeatable) [default: all of them].",
)
def variants_command(folder: Path, count: int, names: tuple[str, ...]) -> None:
    """Write held-out digits rendered the ways people send them (FOLDER/VARIANT/INDEX-LABEL.png|jpg)."""
    from reference_runtime.dataset import holdout
    from reference_runtime.variants import VARIANTS, write_variants

    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise click.UsageError(f"unknown variant {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    images, labels = holdout()
    written = write_variants(folder, list(names) or list(VARIANTS), images, labels, count)
    click.echo(f"wrote {written} images to {folder}", err=True)


@main.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def predict(images: tuple[Path, ...]) -> None:
    """Recognise the digit in image files, offline (no broker)."""
    from reference_runtime.inference import load_classifier
    from reference_runtime.preprocess import ImageError

    classifier, _ = load_classifier(None)
    failed = False
    for path in images:
        try:
            result = classifier.predict(path.read_bytes())
        except OSError as err:
            click.echo(f"{path}: error: cannot read: {err.strerror or err}", err=True)
            failed = True
            continue
        except ImageError as err:
            click.echo(f"{path}: error: {err}", err=True)
            failed = True
            continue
        click.echo(
            json.dumps(
                {"file": str(path), "predictedDigit": result.digit, "confidence": round(result.confidence, 6)}
            )
        )
    sys.exit(EXIT_FAILED if failed else EXIT_OK)


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--count", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many digits.")
def digits(folder: Path, count: int) -> None:
    """Write held-out MNIST digits as PNG files (INDEX-LABEL.png) to try /predict and predict with."""
    from reference_runtime.dataset import holdout
    from reference_runtime.demo import digit_png

    images, labels = holdout()
    written = min(count, len(labels))
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(written):
        (folder / f"{index:04d}-{labels[index]}.png").write_bytes(digit_png(images[index]))
    click.echo(f"wrote {written} digits to {folder}", err=True)


@main.command()
@click.option(
    "--count",
    default=200,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="How many held-out MNIST digits to publish.",
)
@click.option(
    "--rate",
    default=50.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Digits published per second; 0 publishes them all at once (latency then includes queueing).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--timeout", default=90.0, show_default=True, help="Seconds to wait for the predictions.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to keep the broker database and the images [default: a temporary folder].",
)
def demo(count: int, rate: float, as_json: bool, timeout: float, workdir: Path | None) -> None:
    """Run the whole loop on the embedded broker with real handwritten digits and print a summary."""
    from reference_runtime.demo import format_summary, run_demo

    summary = run_demo(count=count, rate=rate, timeout=timeout, workdir=workdir, progress=not as_json)
    click.echo(json.dumps(summary.as_dict()) if as_json else format_summary(summary))
    sys.exit(EXIT_OK if summary.ok else EXIT_FAILED)


if __name__ == "__main__":
    main()
