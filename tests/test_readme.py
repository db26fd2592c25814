"""The README is the code's: each graph's Mermaid block matches its `draw_mermaid()`, and its Python examples run."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from graphs.catalog import WORKFLOWS
from tests.conftest import REPO, clean_env

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


FROM_PYTHON = re.compile(r"^## From Python\n(.*?)^## ", re.S | re.M)
SCRIPT = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.parametrize("number", [0, 1])
def test_the_from_python_examples_run_as_scripts(number: int, tmp_path: Path) -> None:
    # Pasted into a file as they stand, the first two examples run: offline without a key, in a fresh process.
    section = FROM_PYTHON.search((REPO / "README.md").read_text())
    assert section is not None
    script = tmp_path / "example.py"
    script.write_text(SCRIPT.findall(section.group(1))[number])
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, env=clean_env(), timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Billing Inquiry" in done.stdout


def test_the_durable_example_writes_no_key_pasted_into_its_query(tmp_path: Path) -> None:
    # The same script with a key in its query: the thread's file must not hold it (the README says checkpoints
    # never do), whatever the first run's input was.
    section = FROM_PYTHON.search((REPO / "README.md").read_text())
    assert section is not None
    key = "AIza" + "Sy" + "D3x9Qw7Lm2Np4Rt6Vb8Xc0Zk1Jh5Gf3Ds"
    script = SCRIPT.findall(section.group(1))[1].replace('"I was charged twice"', f'"I was charged twice, key {key}"')
    assert key in script
    (tmp_path / "example.py").write_text(script)
    done = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, env=clean_env(), timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert key not in done.stdout + done.stderr
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("threads.sqlite*"))
    assert stored and key.encode() not in stored
