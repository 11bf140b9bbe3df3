"""Reads a price chart back from its SVG: each region's line, and the weeks its dots and rings mark."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from xml.etree import ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
Point = tuple[float, float]


@dataclass
class Series:
    """One region's panel: the vertices of its price line and the marks on it, by week."""

    region: str
    muted: bool
    line: list[Point] = field(default_factory=list)
    # Each drawn line piece starts with M: more than one means the line breaks.
    pieces: int = 0
    alerted: dict[date, Point] = field(default_factory=dict)
    held: dict[date, Point] = field(default_factory=dict)


def read_chart(svg: str) -> list[Series]:
    """Every region panel of the chart, in drawing order (parsing fails on anything that is not well-formed SVG)."""
    root = ET.fromstring(svg)  # noqa: S314 (the chart under test, written by our own code)
    assert root.tag == f"{SVG}svg"
    panels = []
    for group in root.iter(f"{SVG}g"):
        if "series" not in group.get("class", "").split():
            continue
        series = Series(region=group.attrib["data-region"], muted="muted" in group.attrib["class"].split())
        path = group.find(f"{SVG}path[@class='price']")
        assert path is not None
        commands = re.findall(r"([ML])([\d.]+) ([\d.]+)", path.attrib["d"])
        series.line = [(float(x), float(y)) for _, x, y in commands]
        series.pieces = sum(command == "M" for command, _, _ in commands)
        for kind in ("alerted", "held"):
            marks = group.find(f"{SVG}g[@class='{kind}']")
            for dot in marks if marks is not None else []:
                title = dot.find(f"{SVG}title")
                assert title is not None
                assert title.text is not None
                week = date.fromisoformat(title.text.split()[0])
                getattr(series, kind)[week] = (float(dot.attrib["cx"]), float(dot.attrib["cy"]))
        panels.append(series)
    return panels
