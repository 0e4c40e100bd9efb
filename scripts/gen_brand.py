"""Draw IoTitan's brand images into custom_components/iotitan/brand/.

Home Assistant 2026.3 and later serve a custom integration's own brand images from
its `brand/` folder (icon.png, icon@2x.png, logo.png, logo@2x.png and dark_
variants of each). The brands repository's rules apply: PNG, transparent
background, trimmed; icons square at 256x256 (512x512 for @2x); logos with the
shortest side 128 to 256 pixels (256 to 512 for @2x).

The design is drawn with Pillow from simple shapes, so it needs no font and
renders the same anywhere: a "titan" pillar made of three ascending columns on a
plinth (the rolling statistics), with a rising sparkline through sensor nodes
above them (the MQTT readings), in Home Assistant blue; the logo adds the
wordmark "IoTitan" in the same geometric strokes. Run after changing the design:

    .venv/bin/python scripts/gen_brand.py
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

BRAND = (
    Path(__file__).resolve().parent.parent / "custom_components" / "iotitan" / "brand"
)
SUPERSAMPLE = 4
"""Shapes are drawn this many times larger, then scaled down: smooth edges."""
ICON_SIZES = {"icon.png": 256, "icon@2x.png": 512}
LOGO_HEIGHTS = {"logo.png": 128, "logo@2x.png": 256}

Color = tuple[int, int, int, int]


def _rgba(hex_color: str) -> Color:
    value = int(hex_color.lstrip("#"), 16)
    return (value >> 16 & 255, value >> 8 & 255, value & 255, 255)


@dataclass(frozen=True, slots=True)
class Palette:
    """Colours of one variant (light backgrounds, or dark ones)."""

    columns: Color
    plinth: Color
    line: Color
    nodes: Color
    prefix: Color
    """The wordmark's "Io"."""
    name: Color
    """The wordmark's "Titan"."""


LIGHT = Palette(
    columns=_rgba("#03A9F4"),  # Home Assistant blue
    plinth=_rgba("#0277BD"),
    line=_rgba("#01579B"),
    nodes=_rgba("#01579B"),
    prefix=_rgba("#03A9F4"),
    name=_rgba("#263238"),
)
DARK = Palette(
    columns=_rgba("#29B6F6"),
    plinth=_rgba("#0288D1"),
    line=_rgba("#B3E5FC"),
    nodes=_rgba("#E1F5FE"),
    prefix=_rgba("#4FC3F7"),
    name=_rgba("#ECEFF1"),
)


class Canvas:
    """An RGBA image drawn in unit coordinates scaled by `scale` pixels."""

    def __init__(self, width: float, height: float, scale: float) -> None:
        """A transparent canvas of width x height units."""
        self.scale = scale
        self.image = Image.new(
            "RGBA", (round(width * scale), round(height * scale)), (0, 0, 0, 0)
        )
        self.draw = ImageDraw.Draw(self.image)

    def _xy(self, x: float, y: float) -> tuple[float, float]:
        return (x * self.scale, y * self.scale)

    def rounded_rect(
        self, x0: float, y0: float, x1: float, y1: float, radius: float, color: Color
    ) -> None:
        """A filled rectangle with rounded corners."""
        self.draw.rounded_rectangle(
            (*self._xy(x0, y0), *self._xy(x1, y1)),
            radius=radius * self.scale,
            fill=color,
        )

    def dot(self, x: float, y: float, radius: float, color: Color) -> None:
        """A filled circle."""
        self.draw.ellipse(
            (*self._xy(x - radius, y - radius), *self._xy(x + radius, y + radius)),
            fill=color,
        )

    def stroke(
        self, points: Sequence[tuple[float, float]], width: float, color: Color
    ) -> None:
        """A polyline with round caps and joins."""
        self.draw.line(
            [self._xy(x, y) for x, y in points],
            fill=color,
            width=round(width * self.scale),
            joint="curve",
        )
        for x, y in points:
            self.dot(x, y, width / 2, color)

    def arc(
        self,
        cx: float,
        cy: float,
        radius: float,
        start: float,
        end: float,
        width: float,
        color: Color,
    ) -> None:
        """A circular arc of the given stroke width, centred on its radius.

        Angles in degrees, clockwise from 3 o'clock (Pillow's convention).
        """
        outer = radius + width / 2
        self.draw.arc(
            (*self._xy(cx - outer, cy - outer), *self._xy(cx + outer, cy + outer)),
            start,
            end,
            fill=color,
            width=round(width * self.scale),
        )


# -- the glyph --------------------------------------------------------------------------

# Three columns of ascending height on a plinth, in a 1 x 1 box.
COLUMNS = ((0.12, 0.58), (0.40, 0.42), (0.68, 0.26))
"""(left edge, top) of each column."""
COLUMN_WIDTH = 0.20
COLUMN_BOTTOM = 0.83
CAPITAL_OVERHANG = 0.035
CAPITAL_HEIGHT = 0.055
PLINTH = (0.04, 0.87, 0.96, 0.97)
LINE_WIDTH = 0.045
NODE_RADIUS = 0.055
NODE_RISE = 0.16
"""How far above its column's capital each sensor node sits."""


def draw_glyph(
    canvas: Canvas, x: float, y: float, size: float, palette: Palette
) -> None:
    """The pillar-and-sparkline glyph in a size x size box at (x, y)."""

    def at(u: float, v: float) -> tuple[float, float]:
        return (x + u * size, y + v * size)

    for left, top in COLUMNS:
        # Shaft, then a slightly wider capital on top of it.
        canvas.rounded_rect(
            *at(left, top + CAPITAL_HEIGHT / 2),
            *at(left + COLUMN_WIDTH, COLUMN_BOTTOM),
            0.03 * size,
            palette.columns,
        )
        canvas.rounded_rect(
            *at(left - CAPITAL_OVERHANG, top),
            *at(left + COLUMN_WIDTH + CAPITAL_OVERHANG, top + CAPITAL_HEIGHT),
            0.02 * size,
            palette.plinth,
        )
    canvas.rounded_rect(*at(*PLINTH[:2]), *at(*PLINTH[2:]), 0.03 * size, palette.plinth)
    nodes = [at(left + COLUMN_WIDTH / 2, top - NODE_RISE) for left, top in COLUMNS]
    # The trend starts low on the left, dips to the middle node, and rises.
    start = at(LINE_WIDTH / 2, COLUMNS[0][1] - NODE_RISE + 0.08)
    canvas.stroke([start, *nodes], LINE_WIDTH * size, palette.line)
    for node_x, node_y in nodes:
        canvas.dot(node_x, node_y, NODE_RADIUS * size, palette.nodes)
        canvas.dot(node_x, node_y, NODE_RADIUS * size * 0.45, palette.columns)


# -- the wordmark -----------------------------------------------------------------------

# Letters in units of the cap height (1.0); x-height and stroke width relative to it.
X_HEIGHT = 0.70
STROKE = 0.17
TRACKING = 0.13
"""Space between letters."""


def _letter_io(
    canvas: Canvas, x: float, base: float, cap: float, color: Color
) -> float:
    """Draw "I" and "o" at x on baseline `base`; return the advance."""
    w = STROKE * cap
    half = w / 2
    # A slab-serif I, so that "Io" does not read as "lo".
    i_width = 0.46 * cap
    top, bottom = base - cap + half, base - half
    canvas.stroke([(x + half, top), (x + i_width - half, top)], w, color)
    canvas.stroke([(x + half, bottom), (x + i_width - half, bottom)], w, color)
    canvas.stroke([(x + i_width / 2, top), (x + i_width / 2, bottom)], w, color)
    x += i_width + TRACKING * cap
    r = (X_HEIGHT * cap - w) / 2
    canvas.arc(x + r + half, base - X_HEIGHT * cap / 2, r, 0, 360, w, color)
    return i_width + TRACKING * cap + 2 * r + w


def _letters_titan(
    canvas: Canvas, x: float, base: float, cap: float, color: Color
) -> float:
    """Draw "Titan" at x on baseline `base`; return the advance."""
    w = STROKE * cap
    half = w / 2
    xh = X_HEIGHT * cap
    start = x
    # T
    t_width = 0.78 * cap
    canvas.stroke(
        [(x + half, base - cap + half), (x + t_width - half, base - cap + half)],
        w,
        color,
    )
    canvas.stroke(
        [(x + t_width / 2, base - cap + half), (x + t_width / 2, base - half)], w, color
    )
    x += t_width + TRACKING * cap * 0.6
    # i: stem and dot
    canvas.stroke([(x + half, base - xh + half), (x + half, base - half)], w, color)
    canvas.dot(x + half, base - cap + half, half * 1.1, color)
    x += w + TRACKING * cap
    # t: a stem with a crossbar at the x-height and a foot turning right
    t_bar = 0.46 * cap
    stem_x = x + t_bar / 2
    foot = 0.16 * cap
    tail = 0.06 * cap
    canvas.stroke(
        [(stem_x, base - cap * 0.92 + half), (stem_x, base - half - foot)], w, color
    )
    canvas.arc(stem_x + foot, base - half - foot, foot, 90, 180, w, color)
    canvas.stroke(
        [(stem_x + foot, base - half), (stem_x + foot + tail, base - half)], w, color
    )
    canvas.stroke(
        [(x + half, base - xh + half), (x + t_bar - half, base - xh + half)], w, color
    )
    x += max(t_bar, t_bar / 2 + foot + tail + half) + TRACKING * cap
    # a: a ring and a stem on its right
    r = (xh - w) / 2
    canvas.arc(x + r + half, base - xh / 2, r, 0, 360, w, color)
    canvas.stroke(
        [(x + 2 * r + w - half, base - xh + half), (x + 2 * r + w - half, base - half)],
        w,
        color,
    )
    x += 2 * r + w + TRACKING * cap
    # n: a stem and an arch
    canvas.stroke([(x + half, base - xh + half), (x + half, base - half)], w, color)
    arch = (xh * 0.95 - w) / 2
    cy = base - xh + half + arch
    canvas.arc(x + half + arch, cy, arch, 180, 360, w, color)
    canvas.stroke(
        [(x + half + 2 * arch, cy), (x + half + 2 * arch, base - half)], w, color
    )
    x += 2 * arch + w
    return x - start


# -- images -------------------------------------------------------------------------------


def _trimmed(image: Image.Image) -> Image.Image:
    bbox = image.getchannel("A").getbbox()
    assert bbox is not None, "nothing was drawn"
    return image.crop(bbox)


def _fit_square(image: Image.Image, size: int) -> Image.Image:
    """Scale a trimmed drawing to fill a size x size square, centred."""
    scale = size / max(image.size)
    scaled = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    square = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    square.alpha_composite(
        scaled, ((size - scaled.width) // 2, (size - scaled.height) // 2)
    )
    return square


def render_icon(size: int, palette: Palette) -> Image.Image:
    """The glyph, trimmed, filling a size x size square."""
    canvas = Canvas(1.0, 1.0, size * SUPERSAMPLE)
    draw_glyph(canvas, 0.0, 0.0, 1.0, palette)
    return _fit_square(_trimmed(canvas.image), size)


def render_logo(height: int, palette: Palette) -> Image.Image:
    """The glyph and the wordmark side by side, trimmed, `height` pixels high."""
    canvas = Canvas(4.2, 1.0, height * SUPERSAMPLE)
    draw_glyph(canvas, 0.0, 0.0, 1.0, palette)
    cap = 0.56
    base = 0.97 - 0.13  # the wordmark's baseline sits level with the columns' feet
    x = 1.16
    x += _letter_io(canvas, x, base, cap, palette.prefix)
    x += TRACKING * cap * 0.4
    _letters_titan(canvas, x, base, cap, palette.name)
    trimmed = _trimmed(canvas.image)
    width = round(trimmed.width * height / trimmed.height)
    return trimmed.resize((width, height), Image.Resampling.LANCZOS)


def render_all() -> dict[str, Image.Image]:
    """Every brand image by file name."""
    images: dict[str, Image.Image] = {}
    for prefix, palette in (("", LIGHT), ("dark_", DARK)):
        for name, size in ICON_SIZES.items():
            images[prefix + name] = render_icon(size, palette)
        # The 1x logo is the @2x one halved, so the two have the same proportions.
        large = render_logo(LOGO_HEIGHTS["logo@2x.png"], palette)
        images[prefix + "logo@2x.png"] = large
        images[prefix + "logo.png"] = large.resize(
            (round(large.width / 2), LOGO_HEIGHTS["logo.png"]),
            Image.Resampling.LANCZOS,
        )
    return images


def main(argv: Sequence[str] | None = None) -> None:
    """Write the brand images."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--out", type=Path, default=BRAND)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for name, image in render_all().items():
        image.save(out / name, optimize=True)
        print(f"wrote {out / name} ({image.width}x{image.height})")


if __name__ == "__main__":
    main()
