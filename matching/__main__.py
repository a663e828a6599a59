import os
import sys

from .cli import main

code = main()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)  # skip tearing down 100k-object instances: the result is already written
