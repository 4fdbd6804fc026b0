"""Shared by the CLI check scripts: run the webaccel binary, report ok/FAIL lines, and check that
an error exits with the documented code, names what it should and leaves no output behind."""
import math
import os
import subprocess

BIN = os.environ["WEBACCEL_BIN"]
USAGE, IO, FORMAT, INPUT = 2, 3, 4, 5


def run(args, timeout=600):
    return subprocess.run([BIN] + args, capture_output=True, text=True, timeout=timeout)


class Checks:
    def __init__(self):
        self.failures = 0

    def check(self, name, ok, detail=""):
        self.failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f"  <- {detail}"))

    def expect_error(self, name, args, rc, texts, outputs=()):
        """texts: strings stderr must contain; outputs: paths that must not exist afterwards (nor PATH.partial)."""
        p = run(args)
        left = [path for o in outputs for path in (o, o + ".partial") if os.path.exists(path)]
        missing = [t for t in texts if t not in p.stderr]
        self.check(name, p.returncode == rc and not missing and not left,
                   f"rc {p.returncode}, missing {missing}, stderr {p.stderr.strip()[-300:]!r}, left output {left}")


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
