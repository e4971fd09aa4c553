"""What preparing an image for a vision model costs: decode, downscale, re-encode (Pillow), run in a
worker thread by the cog. Also how long the event loop is blocked meanwhile (it should not be).
Run by hand:

    .venv/bin/python bench/images.py

Inputs are generated: photo-like noise (compresses like a real photo, the worst case for size).
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402

from skynet.engine.attachments.images import prepare_image, prepare_image_async  # noqa: E402


def photo(size, fmt: str, **options) -> bytes:
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


CASES = [
    ("12 MP JPEG photo 4000x3000", lambda: photo((4000, 3000), "JPEG", quality=92), "a.jpg"),
    ("6 MP PNG 3000x2000", lambda: photo((3000, 2000), "PNG", compress_level=1), "a.png"),
    ("1 MP PNG 1280x800", lambda: photo((1280, 800), "PNG"), "b.png"),
    ("small JPEG 640x480", lambda: photo((640, 480), "JPEG"), "c.jpg"),
]


async def loop_lag_during(raw: bytes, name: str) -> float:
    """The longest event-loop stall (ms) while the image is prepared in a thread."""
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        while not done:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - start - 0.001)

    task = asyncio.create_task(ticker())
    await prepare_image_async(raw, name)
    done = True
    await task
    return worst * 1000


def main(runs: int = 5) -> None:
    for label, make, name in CASES:
        raw = make()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            prepared = prepare_image(raw, name)
            times.append(time.perf_counter() - start)
        lag = asyncio.run(loop_lag_during(raw, name))
        print(
            f"{label}: {len(raw) / 1e6:.1f} MB in -> {prepared.size[0]}x{prepared.size[1]} {prepared.mime}, "
            f"{len(prepared.data) / 1e3:.0f} kB out (data URL {len(prepared.data_url) / 1e3:.0f} kB); "
            f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms; "
            f"worst loop stall while threaded {lag:.1f} ms"
        )


if __name__ == "__main__":
    main()
