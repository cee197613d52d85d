import sys
from pathlib import Path

# The program and its components import as the Pulumi runtime would: from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
