"""A small MS-COCO 2017 folder in the real on-disk format: instances JSON, JPEGs, one corrupt image."""
import json
from pathlib import Path

import numpy as np
from PIL import Image

IDS = [*range(1, 12), *range(13, 26), 27, 28, *range(31, 45), *range(46, 66), 67, 70, *range(72, 83),
       *range(84, 91)]
NAMES = ("person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant stop_sign "
         "parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe backpack umbrella "
         "handbag tie suitcase frisbee skis snowboard sports_ball kite baseball_bat baseball_glove skateboard "
         "surfboard tennis_racket bottle wine_glass cup fork knife spoon bowl banana apple sandwich orange "
         "broccoli carrot hot_dog pizza donut cake chair couch potted_plant bed dining_table toilet tv laptop "
         "mouse remote keyboard cell_phone microwave oven toaster sink refrigerator book clock vase scissors "
         "teddy_bear hair_drier toothbrush").replace("_", "~").split()
CATEGORIES = [{"id": i, "name": n.replace("~", " "), "supercategory": "thing"} for i, n in zip(IDS, NAMES)]


def _split(root: Path, split: str, n: int, rng, first_id: int, corrupt: bool) -> dict:
    folder = root / f"{split}2017"
    folder.mkdir(parents=True)
    images, annotations = [], []
    for k in range(n):
        img_id = first_id + k
        w, h = int(rng.integers(40, 120)), int(rng.integers(40, 120))
        name = f"{img_id:012d}.jpg"
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name, quality=80)
        images.append({"id": img_id, "file_name": name, "width": w, "height": h})
        for _ in range(int(rng.integers(0, 4))):  # some images carry no annotation
            cat = int(rng.choice(IDS[:20]) if rng.random() < 0.8 else rng.choice(IDS))
            area = float(rng.choice([20.0 ** 2, 60.0 ** 2, 150.0 ** 2]))
            side = area ** 0.5
            annotations.append({"id": len(annotations) + 1 + first_id * 10, "image_id": img_id, "category_id": cat,
                                "bbox": [1.0, 1.0, side, side], "area": area, "iscrowd": 0,
                                "segmentation": [[1, 1, 1 + side, 1, 1 + side, 1 + side, 1, 1 + side]]})
    if corrupt:
        bad = folder / images[-1]["file_name"]
        bad.write_bytes(bad.read_bytes()[:60])  # a truncated JPEG
    (root / "annotations").mkdir(exist_ok=True)
    data = {"info": {"description": "hetnoise test fixture"}, "licenses": [], "images": images,
            "annotations": annotations, "categories": CATEGORIES}
    (root / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(data))
    return data


def make_coco_fixture(root, n_train: int = 60, n_val: int = 20, seed: int = 0) -> dict:
    """Write the fixture under `root`; returns the train and val annotation dicts."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    return {"train": _split(root, "train", n_train, rng, 1000, corrupt=True),
            "val": _split(root, "val", n_val, rng, 5000, corrupt=False)}


def tree(folder) -> set:
    """Every file and folder below `folder` (relative paths), to show that a call wrote nothing there."""
    folder = Path(folder)
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()
