"""Inference throughput: preprocessing + ONNX per image, single and batched, against the ONNX-only floor.

    python bench/inference.py [--count N] [--repeat R] [--batch-sizes 8,32,128]

Times, in one run and on the same held-out digits, for two kinds of input file (the 28×28 PNG the demo
sends, and a few-hundred-pixel RGBA browser canvas):

- the floor: ONNX Runtime alone on tensors preprocessed beforehand, one image per call and in batches;
- single: ``DigitClassifier.predict(bytes)`` per image, what ``/predict`` and the loop run;
- batched: ``DigitClassifier.predict_images([bytes, ...])``: each image preprocessed, one model call a batch.

Prints the median of R runs as milliseconds per image and images per second, with the ratio of each path
to the floor at the same batch size: how much preprocessing costs over the model itself. ONNX Runtime uses
one thread, as in the runtime. Machines are noisy: compare ratios.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image
from timing import median_seconds  # bench/timing.py, beside this script

from reference_runtime import dataset, variants
from reference_runtime.inference import INPUT_NAME, OUTPUT_NAME, DigitClassifier
from reference_runtime.preprocess import preprocess_image


def png(digit: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(digit).save(buffer, "PNG")
    return buffer.getvalue()


def batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=512, help="images per measurement (default 512)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is kept")
    parser.add_argument(
        "--batch-sizes", default="8,32,128", help="comma-separated batch sizes (default 8,32,128)"
    )
    args = parser.parse_args(argv)
    try:
        sizes = sorted({int(s) for s in args.batch_sizes.split(",")})
    except ValueError:
        parser.error("--batch-sizes must be comma-separated integers")
    if args.count < 1 or args.count > 1000 or args.repeat < 1 or not sizes or min(sizes) < 1:
        parser.error("--count must be 1-1000, --repeat and every batch size at least 1")
    return run(args.count, args.repeat, sizes)


def run(count: int, repeat: int, sizes: list[int]) -> int:
    classifier = DigitClassifier.from_mlmodel()
    session = classifier._session  # the floor is the bare session call
    images, _ = dataset.holdout()
    inputs = {
        "28×28 PNG": [png(d) for d in images[:count]],
        "canvas RGBA PNG": [variants.render("canvas", d, i) for i, d in enumerate(images[:count])],
    }
    print(f"{count} held-out digits per input kind; median of {repeat} runs; ONNX Runtime on 1 thread\n")
    print(f"{'input':16} {'path':34} {'batch':>5} {'ms/image':>9} {'images/s':>9} {'vs floor':>9}")
    for kind, files in inputs.items():
        tensors = np.stack([preprocess_image(f) for f in files])
        # The paths must agree, or the comparison means nothing.
        single = [classifier.predict(f).digit for f in files]
        assert [p.digit for p in classifier.predict_images(files)] == single  # type: ignore[union-attr]

        def floor(size: int, tensors: np.ndarray = tensors) -> Callable[[], None]:
            chunks = [np.ascontiguousarray(tensors[s : s + size]) for s in range(0, count, size)]
            return lambda: [session.run([OUTPUT_NAME], {INPUT_NAME: c}) for c in chunks]

        floors = {size: median_seconds(floor(size), repeat) for size in [1, *sizes]}
        singles = median_seconds(lambda files=files: [classifier.predict(f) for f in files], repeat)
        rows = [("ONNX only (floor)", 1, floors[1]), ("preprocess + infer, single", 1, singles)]
        for size in sizes:
            groups = batches(files, size)
            batched = median_seconds(
                lambda groups=groups: [classifier.predict_images(g) for g in groups], repeat
            )
            rows += [
                ("ONNX only (floor)", size, floors[size]),
                ("preprocess + infer, batched", size, batched),
            ]
        for path, size, seconds in rows:
            print(
                f"{kind:16} {path:34} {size:5d} {seconds / count * 1000:9.3f} {count / seconds:9,.0f} "
                f"{seconds / floors[size]:8.2f}x"
            )
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
