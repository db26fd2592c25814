"""The README's diagrams are the code's: each graph's Mermaid block matches `draw_mermaid()` of the graph."""

import re

import pytest

from graphs.catalog import WORKFLOWS
from tests.conftest import REPO

DIAGRAM = re.compile(r"<!-- diagram: (\w+) -->\n```mermaid\n(.*?)```", re.S)


def test_the_readme_shows_every_workflow_once() -> None:
    names = [name for name, _ in DIAGRAM.findall((REPO / "README.md").read_text())]
    assert sorted(names) == sorted(WORKFLOWS)


@pytest.mark.parametrize("name", WORKFLOWS)
def test_each_diagram_matches_the_graph(name: str) -> None:
    diagrams = dict(DIAGRAM.findall((REPO / "README.md").read_text()))
    assert diagrams[name].strip() == WORKFLOWS[name].load().get_graph().draw_mermaid().strip(), (
        f"README's {name} diagram is stale: paste the output of `workflows draw {name}`"
    )
