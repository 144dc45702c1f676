"""The one thing pyproject.toml cannot say: the top-level ``resources/`` folder (translations,
ready import mappings) goes into the wheel inside the package, as ``itsmdesk/resources``, so
the installed app is the tested one.  Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["itsmdesk", "itsmdesk.*"]), "itsmdesk.resources"],
    package_dir={"itsmdesk.resources": "resources"},
    package_data={"itsmdesk.resources": ["translations/*.qm", "import-maps/*.toml",
                                         "icons/*.png", "icons/*.svg", "mail-templates/*/*.txt"]},
)
