"""Images prepared for vision models (skynet.engine.attachments.images), with real generated images:
downscaled to fit 2048x2048 then 768 on the shorter side, aspect kept, never enlarged; PNG kept
for transparency and small screenshots, JPEG otherwise; GIF -> first frame; metadata dropped; a
file that does not decode is refused with a clear message."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from skynet.engine.attachments.images import (
    MAX_PIXELS,
    ImageUnreadable,
    prepare_image,
    prepare_image_async,
    sniff_image,
    target_size,
)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def noisy(size, mode="RGB") -> Image.Image:
    """A photo-like image (random noise compresses badly, like a real photo)."""
    import os

    channels = len(mode)
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * channels))


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    "size, expected",
    [
        ((4000, 3000), (1024, 768)),  # a 12 MP photo: shorter side 768
        ((3000, 4000), (768, 1024)),  # portrait
        ((8000, 1000), (2048, 256)),  # a panorama: the 2048 box decides
        ((1000, 1000), (768, 768)),
        ((600, 400), (600, 400)),  # small: unchanged, never enlarged
        ((1, 5000), (1, 2048)),
    ],
)
def test_target_size_fits_the_openai_limits_keeping_the_aspect(size, expected):
    assert target_size(*size) == expected


def test_a_large_photo_is_downscaled_and_sent_as_jpeg():
    raw = encoded(noisy((3000, 2000)), "JPEG", quality=95)
    prepared = prepare_image(raw, "photo.jpg")
    assert prepared.mime == "image/jpeg"
    assert prepared.original_size == (3000, 2000)
    image = decoded(prepared.data)
    assert image.format == "JPEG" and image.size == prepared.size == (1152, 768)
    assert len(prepared.data) < len(raw) / 4
    assert prepared.data_url.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(prepared.data_url.split(",", 1)[1]) == prepared.data


def test_a_large_opaque_png_becomes_jpeg_but_a_transparent_one_stays_png():
    opaque = prepare_image(encoded(noisy((2100, 2100)), "PNG", compress_level=1), "big.png")
    assert opaque.mime == "image/jpeg" and opaque.size == (768, 768)
    transparent = prepare_image(encoded(noisy((2100, 1050), "RGBA"), "PNG", compress_level=1), "logo.png")
    assert transparent.mime == "image/png" and transparent.size == (1536, 768)
    assert decoded(transparent.data).mode == "RGBA"


def test_a_small_screenshot_stays_png():
    screenshot = Image.new("RGB", (800, 500), "white")
    prepared = prepare_image(encoded(screenshot, "PNG"), "shot.png")
    assert prepared.mime == "image/png" and prepared.size == (800, 500)  # within the limits


def test_an_animated_gif_sends_its_first_frame():
    frames = [Image.new("RGB", (100, 80), color) for color in ("red", "blue", "green")]
    raw = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    prepared = prepare_image(raw, "anim.gif")
    image = decoded(prepared.data).convert("RGB")
    assert prepared.size == (100, 80) and prepared.mime in ("image/png", "image/jpeg")
    red, green, blue = image.getpixel((50, 40))
    assert red > 200 and green < 50 and blue < 50  # the first (red) frame


def test_webp_and_exif_orientation_are_handled():
    webp = prepare_image(encoded(noisy((1600, 1200)), "WEBP"), "a.webp")
    assert webp.mime == "image/jpeg" and webp.size == (1024, 768)
    photo = noisy((2000, 1000))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90°: the camera was held upright
    exif[0x010F] = "SecretCam"  # maker: metadata that must not travel
    prepared = prepare_image(encoded(photo, "JPEG", exif=exif.tobytes()), "phone.jpg")
    assert prepared.size == (768, 1536)  # portrait after rotation
    assert b"SecretCam" not in prepared.data


@pytest.mark.parametrize(
    "raw",
    [
        b"\x89PNG\r\n\x1a\n",  # a PNG signature and nothing else
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        b"not an image at all",
        b"",
    ],
)
def test_a_file_that_does_not_decode_is_refused_clearly(raw):
    with pytest.raises(ImageUnreadable) as refused:
        prepare_image(raw, "cat.png")
    message = str(refused.value)
    assert "`cat.png` is not a readable image" in message and "your message was not sent" in message


def test_a_truncated_png_is_refused():
    raw = encoded(noisy((300, 300)), "PNG")
    with pytest.raises(ImageUnreadable):
        prepare_image(raw[: len(raw) // 2], "cut.png")


def test_too_many_pixels_are_refused_before_decoding():
    # A tiny file that claims a huge size: refused from the header, never decoded.
    side = int(MAX_PIXELS**0.5) + 100
    raw = encoded(Image.new("1", (side, side)), "PNG")
    with pytest.raises(ImageUnreadable) as refused:
        prepare_image(raw, "bomb.png")
    assert "megapixels" in str(refused.value)


def test_sniff_image_reads_magic_bytes():
    assert sniff_image(encoded(Image.new("RGB", (4, 4)), "PNG")) == "image/png"
    assert sniff_image(encoded(Image.new("RGB", (4, 4)), "JPEG")) == "image/jpeg"
    assert sniff_image(encoded(Image.new("RGB", (4, 4)), "GIF")) == "image/gif"
    assert sniff_image(encoded(Image.new("RGB", (4, 4)), "WEBP")) == "image/webp"
    assert sniff_image(b"<html><body>hi</body></html>") is None


async def test_prepare_image_async_runs_in_a_worker_thread():
    prepared = await prepare_image_async(encoded(noisy((1000, 1000)), "PNG"), "x.png")
    assert prepared.size == (768, 768)
