"""``callcenter init DIR``: the files an installation starts from, from the installed package.

Writes the commented example config (``callcenter.yaml``), the simulator's
(``simulator.yaml``), the Asterisk side (``asterisk/``: dialplan, queues, manager, pjsip, their
README and the custom prompts in ``asterisk/sounds/``) and the systemd unit
(``callcenter.service``). Never overwrites a file: if any exists it writes nothing and names
them (``--force`` replaces them).
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

# (what the package holds, where it goes under DIR)
LAYOUT: tuple[tuple[str, str], ...] = (
    ("config/callcenter.example.yaml", "callcenter.yaml"),
    ("config/simulator.example.yaml", "simulator.yaml"),
    ("dialplans/README.md", "asterisk/README.md"),
    ("dialplans/extensions_callcenter.conf", "asterisk/extensions_callcenter.conf"),
    ("dialplans/queues.conf", "asterisk/queues.conf"),
    ("dialplans/manager.conf", "asterisk/manager.conf"),
    ("dialplans/pjsip.conf", "asterisk/pjsip.conf"),
    *(
        (f"dialplans/sounds/callcenter-{name}.wav", f"asterisk/sounds/callcenter-{name}.wav")
        for name in (
            "welcome",
            "menu",
            "closed",
            "closed-menu",
            "sorry",
            "csat",
            "callback-number",
            "callback-name",
        )
    ),
    ("dist/callcenter.service", "callcenter.service"),
)


class InitError(Exception):
    """Nothing was written: the message says why."""


def shipped(name: str) -> Traversable:
    found = files("callcenter.shipped").joinpath(name)
    if not found.is_file():
        raise InitError(f"the installed package lacks {name}: reinstall callcenter")
    return found


def init(target: Path, *, force: bool = False) -> list[Path]:
    """Write the files; returns their paths. Raises InitError before writing anything."""
    sources = [(shipped(name), target / dest) for name, dest in LAYOUT]
    existing = [dest for _, dest in sources if dest.exists()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        raise InitError(f"{names}: already there; nothing was written (--force replaces them)")
    if target.exists() and not target.is_dir():
        raise InitError(f"{target}: expected a folder, got a file")
    written = []
    for source, dest in sources:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(source.read_bytes())
        written.append(dest)
    return written
