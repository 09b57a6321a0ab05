"""Where the project's data folders are: codecs, spaces, profiles and results beside the package."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODEC_DIR = ROOT / "codecs"
SPACE_DIR = ROOT / "spaces"
PROFILE_DIR = ROOT / "profiles"
RESULTS_DIR = ROOT / "results"
