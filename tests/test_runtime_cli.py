"""``sdm-runtime`` commands: clear errors instead of tracebacks, offline prediction."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from reference_runtime.dataset import holdout
from reference_runtime.demo import free_port


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reference_runtime.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_serve_without_a_broker_says_so() -> None:
    port = free_port()
    result = run("serve", "--broker", f"http://127.0.0.1:{port}", "--port", str(free_port()), "--wait", "0.5")
    assert result.returncode == 1
    assert f"cannot reach the NGSI-LD broker at http://127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_rejects_a_model_entity_with_a_wrong_checksum(tmp_path: Path) -> None:
    from reference_runtime.inference import default_mlmodel_path

    entity = json.loads(default_mlmodel_path().read_text())
    entity["modelSha256"] = "0" * 64
    bad = tmp_path / "mlmodel.json"
    bad.write_text(json.dumps(entity))
    result = run("serve", "--model-entity", str(bad), "--wait", "0.1")
    assert result.returncode == 1
    assert "SHA-256" in result.stderr and "refusing to load it" in result.stderr
    assert "Traceback" not in result.stderr


def test_predict_files_offline(tmp_path: Path) -> None:
    images, labels = holdout()
    paths = []
    for index in range(3):
        buffer = io.BytesIO()
        Image.fromarray(images[index], mode="L").save(buffer, format="PNG")
        path = tmp_path / f"{index}.png"
        path.write_bytes(buffer.getvalue())
        paths.append(str(path))
    (tmp_path / "junk.png").write_bytes(b"junk")
    result = run("predict", *paths, str(tmp_path / "junk.png"), str(tmp_path / "absent.png"))
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["predictedDigit"] for line in lines] == [int(x) for x in labels[:3]]
    assert "junk.png: error:" in result.stderr and "absent.png: error: cannot read" in result.stderr
    assert "Traceback" not in result.stderr


def test_broker_knows_the_contexts_it_is_given(tmp_path: Path) -> None:
    import time

    import httpx

    url = "https://example.org/my-context.jsonld"
    context = tmp_path / "my-context.jsonld"
    context.write_text(
        json.dumps({"@context": {"Shelf": "https://example.org/Shelf", "items": "https://example.org/items"}})
    )
    port = free_port()
    database = tmp_path / "broker.sqlite"
    command = [
        sys.executable,
        "-m",
        "reference_runtime.cli",
        "broker",
        "--port",
        str(port),
        "--db",
        str(database),
    ]
    server = subprocess.Popen([*command, "--context", f"{url}={context}"], stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}/ngsi-ld/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/types", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the broker did not start"
                time.sleep(0.2)
        link = {"Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}
        entity = {"id": "urn:ngsi-ld:Shelf:1", "type": "Shelf", "items": {"type": "Property", "value": 3}}
        assert httpx.post(f"{base}/entities", json=entity, headers=link).status_code == 201
        stored = httpx.get(
            f"{base}/entities/urn:ngsi-ld:Shelf:1", headers={"Accept": "application/json"}
        ).json()
        assert stored["type"] == "https://example.org/Shelf"  # expanded with the given context
        other = {"Link": link["Link"].replace(url, "https://example.org/unknown.jsonld")}
        assert httpx.post(f"{base}/entities", json=entity, headers=other).status_code == 503
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_broker_refuses_a_context_option_it_cannot_use(tmp_path: Path) -> None:
    (tmp_path / "plain.json").write_text('{"Shelf": "https://example.org/Shelf"}')
    for option, message in [
        ("no-equals-sign", "expected URL=FILE"),
        (f"https://example.org/c={tmp_path / 'absent.json'}", "absent.json"),
        (f"https://example.org/c={tmp_path / 'plain.json'}", "no top-level @context"),
    ]:
        result = run("broker", "--port", "0", "--db", str(tmp_path / "b.sqlite"), "--context", option)
        assert result.returncode == 2 and message in result.stderr, (option, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_partial_evaluation_rewrites_nothing(tmp_path: Path) -> None:
    import shutil

    from reference_runtime.inference import default_mlmodel_path

    model_dir = tmp_path / "model"
    shutil.copytree(default_mlmodel_path().parent, model_dir)
    before = {path.name: path.read_bytes() for path in model_dir.iterdir()}
    result = run("evaluate", "--model-dir", str(model_dir), "--count", "3", "--jobs", "1", timeout=120)
    assert result.returncode in (0, 1), result.stderr  # 3 digits may well miss a target: that is said
    assert result.stdout.splitlines()[0].startswith("holdout")
    assert "nothing rewritten" in result.stderr and "Traceback" not in result.stderr
    assert {path.name: path.read_bytes() for path in model_dir.iterdir()} == before
