"""The small trained LM the checks run on (scripts/models/make_lm.sh small)."""
import pathlib
import sys


def small_lm_or_skip(models):
    """The model's folder under MODELS_DIR; exits 77 (ctest: skipped) when it is missing."""
    lm = pathlib.Path(models) / "pare-lm-small"
    if not (lm / "model.onnx").exists():
        print(f"{lm}/model.onnx missing (scripts/models/make_lm.sh small): skipped")
        sys.exit(77)
    return lm
