"""Package discovery for the `netarium` package, whose folder is the repository root.

setuptools' `packages.find` in pyproject.toml would name the subfolders as top-level packages
(`analysis`, `tasks`, ...), so they are found here and put under `netarium.`; tests/ is not shipped.
"""

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    """build_py that leaves this script out of the package (it sits in the package's folder)."""

    def find_package_modules(self, package: str, package_dir: str) -> list[tuple[str, str, str]]:
        return [m for m in super().find_package_modules(package, package_dir) if m[:2] != ("netarium", "setup")]


setup(
    packages=["netarium", *(f"netarium.{name}" for name in find_packages(exclude=["tests", "tests.*"]))],
    cmdclass={"build_py": BuildPy},
)
