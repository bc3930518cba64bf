"""How the CLI hands over to a front end without importing it.

The GUI registers itself in the ``countersign.frontends`` entry-point group; the core
looks it up by name, so ``app/`` never imports Qt (ARCHITECTURE.md, layers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

GROUP = "countersign.frontends"


@dataclass(frozen=True)
class FrontendOptions:
    store_url: str
    config_path: Path | None
    #: Run the demo fleet inside the console (``make run`` does).
    demo: bool = False
    demo_seed: int = 7
    demo_agents: int = 6


class FrontendMissing(RuntimeError):
    pass


def load_frontend(name: str = "gui") -> Callable[[FrontendOptions], int]:
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            runner: Callable[[FrontendOptions], int] = ep.load()
            return runner
    raise FrontendMissing(
        f"no '{name}' front end is installed (entry point group {GROUP}); "
        "reinstall countersign with its GUI"
    )
