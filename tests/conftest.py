import sys
from pathlib import Path

# make tests/ helpers (notebook_runner, ...) importable from every test module
sys.path.insert(0, str(Path(__file__).resolve().parent))
