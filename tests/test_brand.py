"""The brand images Home Assistant 2026.3+ serves from custom_components/iotitan/brand/."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys
from types import ModuleType

from PIL import Image, ImageChops
import pytest

REPO = Path(__file__).resolve().parents[1]
BRAND = REPO / "custom_components" / "iotitan" / "brand"
# The names Home Assistant's brands integration accepts (ALLOWED_IMAGES).
ICONS = ("icon.png", "icon@2x.png", "dark_icon.png", "dark_icon@2x.png")
LOGOS = ("logo.png", "logo@2x.png", "dark_logo.png", "dark_logo@2x.png")


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_brand", REPO / "scripts" / "gen_brand.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def open_png(name: str) -> Image.Image:
    """Open a brand image and check it is an RGBA PNG."""
    image = Image.open(BRAND / name)
    assert image.format == "PNG", name
    assert image.mode == "RGBA", name
    image.load()
    return image


def test_only_known_files() -> None:
    """Exactly the eight images, nothing Home Assistant would not serve."""
    assert sorted(p.name for p in BRAND.iterdir()) == sorted(ICONS + LOGOS)


@pytest.mark.parametrize("name", ICONS)
def test_icon(name: str) -> None:
    """Square, 256 (512 at @2x), trimmed, transparent around the glyph."""
    image = open_png(name)
    size = 512 if "@2x" in name else 256
    assert image.size == (size, size)
    alpha = image.getchannel("A")
    # Trimmed: the glyph reaches the edges in at least one direction.
    left, top, right, bottom = alpha.getbbox() or (0, 0, 0, 0)
    assert (left, right) == (0, size) or (top, bottom) == (0, size)
    assert alpha.getpixel((0, 0)) == 0  # a transparent background, not a plate
    histogram = alpha.histogram()
    assert histogram[0] > size * size // 5  # plenty of transparent pixels
    assert histogram[255] > size * size // 5  # and a solid glyph


@pytest.mark.parametrize("name", LOGOS)
def test_logo(name: str) -> None:
    """Landscape, 128 high (256 at @2x), trimmed on every side, transparent."""
    image = open_png(name)
    height = 256 if "@2x" in name else 128
    assert image.height == height
    assert 3 * height < image.width < 5 * height
    alpha = image.getchannel("A")
    assert alpha.getbbox() == (0, 0, image.width, image.height)
    histogram = alpha.histogram()
    assert histogram[0] > image.width * height // 3
    assert histogram[255] > image.width * height // 10


@pytest.mark.parametrize("name", ("icon.png", "logo.png"))
def test_at_2x_is_the_same_picture_doubled(name: str) -> None:
    """@2x is twice the size of 1x (within rounding), for light and dark."""
    for prefix in ("", "dark_"):
        small = open_png(prefix + name)
        large = open_png(prefix + name.replace(".png", "@2x.png"))
        assert abs(large.width - 2 * small.width) <= 1
        assert large.height == 2 * small.height


@pytest.mark.parametrize("name", ("icon.png", "logo.png"))
def test_dark_variant_is_lighter(name: str) -> None:
    """The dark-theme variant is a lighter drawing of the same shape."""
    light = open_png(name)
    dark = open_png("dark_" + name)
    assert light.size == dark.size
    assert (
        ImageChops.difference(light.getchannel("A"), dark.getchannel("A")).getextrema()[
            1
        ]
        < 64
    )

    def brightness(image: Image.Image) -> float:
        gray = image.convert("LA")
        pixels = [
            value
            for value, alpha in zip(
                gray.getchannel("L").getdata(),
                gray.getchannel("A").getdata(),
                strict=True,
            )
            if alpha == 255
        ]
        return sum(pixels) / len(pixels)

    assert brightness(dark) > brightness(light) + 20


def test_images_match_the_generator() -> None:
    """The committed images are what scripts/gen_brand.py draws (re-run it)."""
    generated = _load_generator().render_all()
    assert sorted(generated) == sorted(ICONS + LOGOS)
    for name, image in generated.items():
        committed = open_png(name)
        assert committed.size == image.size, name
        difference = ImageChops.difference(committed, image).getextrema()
        assert max(high for _, high in difference) <= 8, name
