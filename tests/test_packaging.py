"""What an installed (non-editable) package holds: every data file the code reads."""

import fnmatch
import tomllib

from conftest import ROOT


def test_every_data_file_of_the_package_is_declared_in_pyproject():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]["assistant"]
    package = ROOT / "assistant"
    data = [p.relative_to(package).as_posix() for p in package.rglob("*")
            if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts]
    assert data, "no data files found"
    missing = [f for f in data if not any(fnmatch.fnmatch(f, g) for g in globs)]
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"
