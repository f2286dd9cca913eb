"""localnet: a layer-local, event-driven simulator for biologically-motivated learning rules.

Public API: `load_config`, `parse_config`, `build_network`, `get_backend`, `Trainer`,
`run_experiment`. See README.md and docs/.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("localnet")  # pyproject.toml's [project] version, the one place it is written
except PackageNotFoundError:  # a source tree on sys.path without `pip install -e .`
    __version__ = "0+unknown"

from .backend import Backend, get_backend
from .config import RunConfig, load_config, parse_config
from .errors import ConfigError, DataError, LocalnetError
from .network import Network, build_network
from .run import run_experiment
from .train import Trainer

__all__ = [
    "Backend", "ConfigError", "DataError", "LocalnetError", "Network", "RunConfig", "Trainer",
    "__version__", "build_network", "get_backend", "load_config", "parse_config", "run_experiment",
]
