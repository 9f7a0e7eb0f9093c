"""Build hook: the wheel carries what pymargin needs at run time besides its Python code.

``pymargin/_assets/`` in the wheel gets the Solidity sources (``contracts/``), the compiled artifacts
(``out/``, from `pymargin compile`; the build refuses to run without them), the circuits
(``circuits/``) and the node tools' pinned ``package.json`` + ``package-lock.json``. Everything else
is in pyproject.toml.
"""

from pathlib import Path
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
ASSETS = {"contracts": "*.sol", "circuits": "*.circom", "out": "*.json"}
LOCK_FILES = ("package.json", "package-lock.json")


class BuildPyWithAssets(build_py):
    """build_py, then copy the run-time assets into ``<build>/pymargin/_assets``."""

    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout itself
            return
        if not (ROOT / "out" / "pymargin-build-cache.json").is_file():
            raise SystemExit("pymargin: no compiled artifacts in out/: run `pymargin compile` before building the wheel")
        target = Path(self.build_lib) / "pymargin" / "_assets"
        shutil.rmtree(target, ignore_errors=True)
        for folder, pattern in ASSETS.items():
            for path in sorted((ROOT / folder).rglob(pattern)):
                dest = target / path.relative_to(ROOT)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
        for name in LOCK_FILES:
            shutil.copyfile(ROOT / name, target / name)


setup(cmdclass={"build_py": BuildPyWithAssets})
