"""A small SVG plotter for the report: axes, lines, points, spans and markers, as text.

The report embeds its plots inline, so it stays one self-contained HTML file. Plots are drawn here
directly rather than through matplotlib: the figures are simple (a timeline, a trend) and importing
matplotlib alone costs more than the whole report of an hour-long session.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if not math.isfinite(lo) or not math.isfinite(hi) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, target)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    return ticks


def _f(v: float) -> str:
    return f"{v:.1f}"


class SvgPlot:
    """One plot area with linear axes. Coordinates given in data units."""

    def __init__(
        self,
        *,
        width: int = 900,
        height: int = 260,
        x_range: tuple[float, float],
        y_range: tuple[float, float] = (0.0, 100.0),
        x_label: str = "",
        y_label: str = "",
        title: str = "",
        margin: tuple[int, int, int, int] = (28, 20, 40, 52),  # top, right, bottom, left
    ) -> None:
        self.width, self.height = width, height
        self.x0, self.x1 = x_range if x_range[1] > x_range[0] else (x_range[0], x_range[0] + 1.0)
        self.y0, self.y1 = y_range
        self.top, self.right, self.bottom, self.left = margin
        self.title = title
        self.x_label, self.y_label = x_label, y_label
        self.parts: list[str] = []

    @property
    def pw(self) -> float:
        return self.width - self.left - self.right

    @property
    def ph(self) -> float:
        return self.height - self.top - self.bottom

    def x(self, v: float) -> float:
        return self.left + (v - self.x0) / (self.x1 - self.x0) * self.pw

    def y(self, v: float) -> float:
        return self.top + (1.0 - (v - self.y0) / (self.y1 - self.y0)) * self.ph

    def axes(
        self, x_ticks: Sequence[float] | None = None, x_tick_labels: Sequence[str] | None = None
    ) -> None:
        p = self.parts
        p.append(
            f'<rect x="{self.left}" y="{self.top}" width="{_f(self.pw)}" height="{_f(self.ph)}" '
            'fill="#fbfbfc" stroke="#999" stroke-width="0.8"/>'
        )
        for v in nice_ticks(self.y0, self.y1, 5):
            yy = self.y(v)
            p.append(
                f'<line x1="{self.left}" y1="{_f(yy)}" x2="{_f(self.left + self.pw)}" y2="{_f(yy)}" '
                'stroke="#e2e2e6" stroke-width="0.8"/>'
            )
            p.append(
                f'<text x="{self.left - 6}" y="{_f(yy + 4)}" font-size="11" text-anchor="end" '
                f'fill="#444">{v:g}</text>'
            )
        xt = list(x_ticks) if x_ticks is not None else nice_ticks(self.x0, self.x1, 8)
        labels = list(x_tick_labels) if x_tick_labels is not None else [f"{v:g}" for v in xt]
        for v, label in zip(xt, labels, strict=False):
            xx = self.x(v)
            if self.left - 0.5 <= xx <= self.left + self.pw + 0.5:
                p.append(
                    f'<line x1="{_f(xx)}" y1="{_f(self.top + self.ph)}" x2="{_f(xx)}" '
                    f'y2="{_f(self.top + self.ph + 4)}" stroke="#666"/>'
                )
                p.append(
                    f'<text x="{_f(xx)}" y="{_f(self.top + self.ph + 16)}" font-size="11" '
                    f'text-anchor="middle" fill="#444">{escape(label)}</text>'
                )
        if self.x_label:
            p.append(
                f'<text x="{_f(self.left + self.pw / 2)}" y="{self.height - 6}" font-size="12" '
                f'text-anchor="middle" fill="#222">{escape(self.x_label)}</text>'
            )
        if self.y_label:
            cy = self.top + self.ph / 2
            p.append(
                f'<text x="14" y="{_f(cy)}" font-size="12" text-anchor="middle" fill="#222" '
                f'transform="rotate(-90 14 {_f(cy)})">{escape(self.y_label)}</text>'
            )
        if self.title:
            p.append(
                f'<text x="{self.left}" y="{self.top - 10}" font-size="13" font-weight="bold" '
                f'fill="#222">{escape(self.title)}</text>'
            )

    def vspan(
        self, a: float, b: float, fill: str, title: str = "", opacity: float = 0.35, css_class: str = ""
    ) -> None:
        """A band from ``a`` to ``b``. Draw it after :meth:`axes`: the plot area's background is opaque."""
        xa, xb = max(self.x(a), self.left), min(self.x(b), self.left + self.pw)
        if xb <= xa:
            xb = xa + 1.0
        cls = f' class="{escape(css_class)}"' if css_class else ""
        self.parts.append(
            f'<rect{cls} x="{_f(xa)}" y="{self.top}" width="{_f(xb - xa)}" height="{_f(self.ph)}" '
            f'fill="{fill}" fill-opacity="{opacity}"><title>{escape(title)}</title></rect>'
        )

    def vline(self, v: float, stroke: str, title: str = "", label: str = "", dash: str = "4 3") -> None:
        xx = self.x(v)
        self.parts.append(
            f'<line x1="{_f(xx)}" y1="{self.top}" x2="{_f(xx)}" y2="{_f(self.top + self.ph)}" '
            f'stroke="{stroke}" '
            f'stroke-width="1" stroke-dasharray="{dash}"><title>{escape(title)}</title></line>'
        )
        if label:
            self.parts.append(
                f'<text x="{_f(xx + 2)}" y="{self.top + 10}" font-size="9" fill="{stroke}">'
                f"{escape(label)}</text>"
            )

    def polyline(
        self, xs: Sequence[float], ys: Sequence[float], stroke: str, width: float = 1.6, dash: str = ""
    ) -> None:
        pts = " ".join(
            f"{_f(self.x(a))},{_f(self.y(b))}" for a, b in zip(xs, ys, strict=True) if math.isfinite(b)
        )
        if pts:
            d = f' stroke-dasharray="{dash}"' if dash else ""
            self.parts.append(
                f'<polyline points="{pts}" fill="none" stroke="{stroke}" stroke-width="{width}"{d}/>'
            )

    def points(
        self,
        xs: Sequence[float],
        ys: Sequence[float],
        fill: str,
        r: float = 3.5,
        titles: Sequence[str] | None = None,
        shape: str = "circle",
    ) -> None:
        for i, (a, b) in enumerate(zip(xs, ys, strict=True)):
            if not math.isfinite(b):
                continue
            t = f"<title>{escape(titles[i])}</title>" if titles else ""
            cx, cy = self.x(a), self.y(b)
            if shape == "diamond":
                self.parts.append(
                    f'<polygon points="{_f(cx)},{_f(cy - r)} {_f(cx + r)},{_f(cy)} {_f(cx)},{_f(cy + r)} '
                    f'{_f(cx - r)},{_f(cy)}" fill="{fill}" stroke="#fff" stroke-width="0.8">{t}</polygon>'
                )
            elif shape == "triangle":
                self.parts.append(
                    f'<polygon points="{_f(cx - r)},{_f(cy - r)} {_f(cx + r)},{_f(cy - r)} '
                    f'{_f(cx)},{_f(cy + r)}" '
                    f'fill="{fill}">{t}</polygon>'
                )
            else:
                self.parts.append(
                    f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{r}" fill="{fill}" stroke="#fff" '
                    f'stroke-width="0.8">{t}</circle>'
                )

    def legend(self, items: Sequence[tuple[str, str]]) -> None:
        x = self.left + self.pw
        for label, colour in reversed(items):
            width = 14 + 6.5 * len(label)
            x -= width + 8
            self.parts.append(
                f'<rect x="{_f(x)}" y="{self.top - 19}" width="10" height="10" fill="{colour}"/>'
            )
            self.parts.append(
                f'<text x="{_f(x + 14)}" y="{self.top - 10}" font-size="11" fill="#333">'
                f"{escape(label)}</text>"
            )

    def geometry(self) -> str:
        """The plot area and data range as ``left top width height x0 x1 y0 y1`` (SVG units), for a
        reader that maps data back to where it is drawn (a test looking at the pixels)."""
        return (
            " ".join(_f(v) for v in (self.left, self.top, self.pw, self.ph))
            + " "
            + " ".join(repr(float(v)) for v in (self.x0, self.x1, self.y0, self.y1))
        )

    def render(self, aria_label: str = "", *, svg_id: str | None = None) -> str:
        label = escape(aria_label or self.title)
        ident = f' id="{escape(svg_id)}"' if svg_id else ""
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg"{ident} viewBox="0 0 {self.width} {self.height}" '
            f'width="{self.width}" height="{self.height}" role="img" aria-label="{label}" '
            f'data-plot="{self.geometry()}" font-family="sans-serif">' + "".join(self.parts) + "</svg>"
        )
