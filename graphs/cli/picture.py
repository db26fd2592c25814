"""Pictures of a workflow's graph, drawn on this machine: SVG (no extra package) and PNG (Pillow).

grandalf (a dependency, also behind `draw --ascii`) lays the graph out in layers, top to bottom, with bends
routed around the nodes; this module draws that layout: boxes sized to their labels, solid arrows for fixed
edges and dashed ones for conditional edges (routing decisions, `Send` fan-outs), as Mermaid and Studio draw them.
LangGraph's own `draw_mermaid_png` sends the graph to a web service, and `draw_png` needs Graphviz installed.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from langchain_core.runnables.graph import Graph as Drawable

FONT_SIZE = 14
CHAR_WIDTH = 0.62 * FONT_SIZE
"""A generous average glyph width of a sans-serif font: boxes fit their labels in any viewer's font."""
PADDING = 14
BOX_HEIGHT = 34
MARGIN = 24
LAYER_GAP = 56
NODE_GAP = 28


@dataclass
class Box:
    """A node: its label and its centre and size in pixels."""

    label: str
    x: float
    y: float
    width: float
    height: float
    terminal: bool
    """`__start__` or `__end__`, drawn as a pill."""


@dataclass
class Arrow:
    """An edge: the points it passes through, from its source's border to its target's."""

    points: list[tuple[float, float]]
    dashed: bool
    label: str | None


@dataclass
class Scene:
    """Everything to draw, in pixels."""

    width: float
    height: float
    boxes: list[Box]
    arrows: list[Arrow]


def _label(node_id: str) -> str:
    return {"__start__": "start", "__end__": "end"}.get(node_id, node_id)


class _Viewer:
    """What grandalf needs to know of a vertex: its size (and it writes the position back)."""

    def __init__(self, width: float, height: float) -> None:
        self.w = width
        self.h = height
        self.xy: tuple[float, float] = (0.0, 0.0)


def layout(drawable: Drawable) -> Scene:
    """Lay the graph out in layers (grandalf's Sugiyama layout) and size each box to its label."""
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout
    from grandalf.routing import EdgeViewer, route_with_lines

    vertices = {node_id: Vertex(node_id) for node_id in drawable.nodes}
    for node_id, vertex in vertices.items():
        vertex.view = _Viewer(len(_label(node_id)) * CHAR_WIDTH + 2 * PADDING, BOX_HEIGHT)
    edges = []
    for edge in drawable.edges:
        link = Edge(vertices[edge.source], vertices[edge.target], data=edge)
        link.view = EdgeViewer()
        edges.append(link)
    graph = Graph(list(vertices.values()), edges)
    for component in graph.C:
        sugiyama = SugiyamaLayout(component)
        sugiyama.xspace = NODE_GAP
        sugiyama.yspace = LAYER_GAP
        sugiyama.route_edge = route_with_lines
        sugiyama.init_all(roots=[v for v in component.sV if v.data == "__start__"] or None, optimize=True)
        sugiyama.draw(3)
    pairs = {(edge.source, edge.target) for edge in drawable.edges}
    routes = []
    for link in edges:
        points = [(float(x), float(y)) for x, y in getattr(link.view, "_pts", [])]
        if len(points) < 2:
            source, target = link.v
            points = [source.view.xy, target.view.xy]
        if (link.data.target, link.data.source) in pairs:
            # A loop between two nodes (retry the summary): draw its two edges side by side, not on one line.
            shift = NODE_GAP / 3 if link.data.source < link.data.target else -NODE_GAP / 3
            points = [(x + shift, y) for x, y in points]
        routes.append((link.data, points))
    # Bends of long edges can lie outside every box: the picture spans them too.
    xs = [v.view.xy[0] - v.view.w / 2 for v in vertices.values()] + [x for _, p in routes for x, _ in p]
    ys = [v.view.xy[1] - v.view.h / 2 for v in vertices.values()] + [y for _, p in routes for _, y in p]
    dx, dy = MARGIN - min(xs), MARGIN - min(ys)
    boxes = [
        Box(_label(node_id), v.view.xy[0] + dx, v.view.xy[1] + dy, v.view.w, v.view.h, node_id.startswith("__"))
        for node_id, v in vertices.items()
    ]
    arrows = [
        Arrow([(x + dx, y + dy) for x, y in points], bool(edge.conditional), _edge_label(edge))
        for edge, points in routes
    ]
    width = max([box.x + box.width / 2 for box in boxes] + [x for a in arrows for x, _ in a.points]) + MARGIN
    height = max([box.y + box.height / 2 for box in boxes] + [y for a in arrows for _, y in a.points]) + MARGIN
    return Scene(width, height, boxes, arrows)


def _edge_label(edge: Any) -> str | None:
    data = edge.data
    return str(data) if data is not None and str(data) != edge.target else None


def _arrowhead(points: Sequence[tuple[float, float]], size: float = 9.0) -> list[tuple[float, float]]:
    (x1, y1), (x2, y2) = points[-2], points[-1]
    angle = math.atan2(y2 - y1, x2 - x1)
    left = (x2 - size * math.cos(angle - 0.4), y2 - size * math.sin(angle - 0.4))
    right = (x2 - size * math.cos(angle + 0.4), y2 - size * math.sin(angle + 0.4))
    return [(x2, y2), left, right]


STROKE = "#3b4252"
FILL = "#eef2fb"
TERMINAL_FILL = "#dfe6f3"


def to_svg(scene: Scene, title: str) -> str:
    """Return the scene as a standalone SVG document."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{scene.width:.0f}" height="{scene.height:.0f}" '
        f'viewBox="0 0 {scene.width:.0f} {scene.height:.0f}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" '
        f'font-size="{FONT_SIZE}">',
        f"<title>{escape(title)}</title>",
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for arrow in scene.arrows:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in arrow.points)
        dash = ' stroke-dasharray="6 4"' if arrow.dashed else ""
        parts.append(f'<polyline points="{path}" fill="none" stroke="{STROKE}" stroke-width="1.5"{dash}/>')
        head = " ".join(f"{x:.1f},{y:.1f}" for x, y in _arrowhead(arrow.points))
        parts.append(f'<polygon points="{head}" fill="{STROKE}"/>')
    for box in scene.boxes:
        radius = box.height / 2 if box.terminal else 6
        fill = TERMINAL_FILL if box.terminal else FILL
        parts.append(
            f'<rect x="{box.x - box.width / 2:.1f}" y="{box.y - box.height / 2:.1f}" width="{box.width:.1f}" '
            f'height="{box.height:.1f}" rx="{radius:.1f}" fill="{fill}" stroke="{STROKE}" stroke-width="1.5"/>'
        )
        parts.append(
            f'<text x="{box.x:.1f}" y="{box.y:.1f}" text-anchor="middle" dominant-baseline="central" '
            f'fill="#1f2430">{escape(box.label)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _dashes(points: Sequence[tuple[float, float]], on: float, off: float) -> list[list[tuple[float, float]]]:
    """Split a polyline into the dashes of a dashed line."""
    pieces: list[list[tuple[float, float]]] = []
    drawing, left = True, on
    current: list[tuple[float, float]] = [points[0]]
    for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
        length = math.dist((x1, y1), (x2, y2))
        done = 0.0
        while length - done > left:
            done += left
            point = (x1 + (x2 - x1) * done / length, y1 + (y2 - y1) * done / length)
            if drawing:
                current.append(point)
                pieces.append(current)
            current = [point]
            drawing, left = not drawing, off if drawing else on
        left -= length - done
        if drawing:
            current.append((x2, y2))
    if drawing and len(current) > 1:
        pieces.append(current)
    return pieces


def to_png(scene: Scene, path: Path, scale: int = 2) -> None:
    """Draw the scene into a PNG file with Pillow, at `scale` times the SVG's size (sharp on high-DPI screens)."""
    from PIL import Image, ImageDraw, ImageFont

    supersample = 2  # drawn at twice the size, then shrunk: Pillow's lines are not antialiased
    factor = scale * supersample
    image = Image.new("RGB", (math.ceil(scene.width * factor), math.ceil(scene.height * factor)), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=FONT_SIZE * factor)

    def at(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x * factor, y * factor) for x, y in points]

    width = round(1.5 * factor)
    for arrow in scene.arrows:
        lines = _dashes(arrow.points, 6, 4) if arrow.dashed else [arrow.points]
        for line in lines:
            draw.line(at(line), fill=STROKE, width=width, joint="curve")
        draw.polygon(at(_arrowhead(arrow.points)), fill=STROKE)
    for box in scene.boxes:
        corners = at([(box.x - box.width / 2, box.y - box.height / 2), (box.x + box.width / 2, box.y + box.height / 2)])
        radius = (box.height / 2 if box.terminal else 6) * factor
        fill = TERMINAL_FILL if box.terminal else FILL
        draw.rounded_rectangle(corners, radius=radius, fill=fill, outline=STROKE, width=width)
        draw.text((box.x * factor, box.y * factor), box.label, fill="#1f2430", font=font, anchor="mm")
    image = image.resize((image.width // supersample, image.height // supersample), Image.Resampling.LANCZOS)
    image.save(path, format="PNG")
