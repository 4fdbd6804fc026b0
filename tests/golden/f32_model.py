"""The F32 copy of SmolLM2-135M-Instruct.Q4_1.gguf that the F32 goldens are made and checked on.

Made by `webaccel convert --to f32` (every tensor dequantized, metadata kept; deterministic), once,
next to the Q4_1 file: models/smollm2/SmolLM2-135M-Instruct.F32.gguf (not committed; ~540 MB).
"""
import os
import subprocess

Q4_1_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
F32_NAME = "SmolLM2-135M-Instruct.F32.gguf"


def ensure_f32_gguf(webaccel_bin, models_dir):
    """Path of the F32 GGUF, converting the Q4_1 one first if it is missing."""
    out = os.path.join(models_dir, "smollm2", F32_NAME)
    if not os.path.exists(out):
        # A private name, then an atomic rename: concurrent runs (optimized and ASan) never see half a file.
        tmp = f"{out}.{os.getpid()}.tmp"
        subprocess.run([webaccel_bin, "convert", "-m", os.path.join(models_dir, "smollm2", Q4_1_NAME),
                        "--to", "f32", "-o", tmp], check=True)
        os.replace(tmp, out)
    return out
