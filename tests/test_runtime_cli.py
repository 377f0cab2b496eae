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
