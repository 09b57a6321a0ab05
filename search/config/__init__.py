"""The configuration tree, its command-line parsing and its presets."""
from .cli import Command, argv, keys, parse, to_dict, to_yaml, usage
from .presets import PRESETS, preset_table, resolve
from .schema import (AnchorsConfig, CompareConfig, Config, EvalConfig, IntraConfig, OuterConfig, ProfileConfig, ReportConfig,
                     RuntimeConfig, Stage1Config, SupernetConfig, TrainingConfig)
from .values import EMBEDDINGS, embedding_dims, format_resolution, parse_resolution

__all__ = ["Command", "argv", "keys", "parse", "to_dict", "to_yaml", "usage", "PRESETS", "preset_table",
           "resolve", "AnchorsConfig", "CompareConfig", "Config", "EvalConfig", "IntraConfig", "OuterConfig", "ProfileConfig",
           "ReportConfig", "RuntimeConfig", "Stage1Config", "SupernetConfig", "TrainingConfig", "EMBEDDINGS",
           "embedding_dims", "format_resolution", "parse_resolution"]
