"""examples/upsample_image.py runs and writes its PNG."""
import pathlib
import runpy

import pytest

pytest.importorskip("PIL", reason="the example needs pillow")

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "upsample_image.py"


@pytest.mark.skipif(not EXAMPLE.exists(), reason="examples/upsample_image.py is not in this checkout")
def test_upsample_image_example(tmp_path):
    from PIL import Image
    out = tmp_path / "sheet.png"
    mod = runpy.run_path(str(EXAMPLE))
    mod["main"](str(out))
    img = Image.open(out)
    assert img.width > 5 * 192 and img.height > 192
