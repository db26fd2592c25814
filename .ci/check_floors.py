"""Check that an install made with `--resolution lowest-direct` holds the declared floors, no higher.

A floor that the resolver had to raise (another package needs more) is a floor the suite never ran on: this
names it and the version to declare instead. Run with the venv's Python: `python .ci/check_floors.py test`.
"""

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version


def declared(extras: list[str]) -> list[Requirement]:
    """The project's requirements and those of `extras`, as written in pyproject.toml."""
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def main(extras: list[str]) -> int:
    """Print each requirement's floor against what is installed; return 1 if any floor was not installed."""
    raised = []
    for requirement in declared(extras):
        floors = [Version(spec.version) for spec in requirement.specifier if spec.operator == ">="]
        if not floors:
            continue
        try:
            installed = Version(version(requirement.name))
        except PackageNotFoundError:
            raised.append(f"{requirement.name}: not installed")
            continue
        floor = max(floors)
        status = "ok" if installed == floor else "RAISED"
        print(f"{requirement.name:32} floor {floor!s:10} installed {installed!s:10} {status}")
        if installed != floor:
            raised.append(f"{requirement.name} {installed}: declare that floor, or find what pins it above {floor}")
    if raised:
        print("Floors the suite did not run on (the resolver went higher):", *raised, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
