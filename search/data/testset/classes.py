"""The class a test sequence's figures are averaged in (HEVC common test conditions, UVG, MCL-JCV)."""
from __future__ import annotations

import re

#: the field's test classes by sequence name (HEVC common test conditions, UVG, MCL-JCV)
KNOWN_CLASSES = {
    "HEVC-B": ("Kimono", "ParkScene", "Cactus", "BasketballDrive", "BQTerrace"),
    "HEVC-C": ("BasketballDrill", "BQMall", "PartyScene"),
    "HEVC-D": ("BasketballPass", "BQSquare", "BlowingBubbles"),
    "HEVC-E": ("FourPeople", "Johnny", "KristenAndSara"),
    "UVG": ("Beauty", "Bosphorus", "HoneyBee", "Jockey", "ReadySteadyGo", "ShakeNDry", "YachtRide"),
}


def sequence_class(name: str, height: int, folder: str = "") -> str:
    """The class a sequence's figures are averaged in: by name for the field's test sets (RaceHorses
    is class C at 480 lines, D at 240), else its folder (or ``all``)."""
    base = name.split("_")[0].lower()
    if base == "racehorses":
        return "HEVC-C" if height >= 480 else "HEVC-D"
    for group, names in KNOWN_CLASSES.items():
        if base in (n.lower() for n in names):
            return group
    if re.fullmatch(r"videosrc\d+", base):
        return "MCL-JCV"
    return folder or "all"
