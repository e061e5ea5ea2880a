"""What pyproject.toml cannot say: packages found by pattern plus the mapped templates, and where to build.

- Packages are found, not listed, so a new subpackage cannot be left out of
  the wheel; `reporter.templates` is added by name because it comes from the
  top-level templates/ (see package-dir in pyproject.toml), where `find`
  cannot see it.
- setuptools builds in `build/` by default, which is where `render` writes the
  section: a `pip install .` from a clone would leave lib/ and bdist.* there.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["reporter", "reporter.*"]), "reporter.templates"],
    options={"build": {"build_base": ".package-build"}},
)
