"""Cut an ImageNet-layout classification folder from COCO instance boxes.

    python tools/dataset_converters/coco_instance_crops.py \
        --coco-root ../shared/data/coco128 --out demo/data/coco_cls

Each crop is the square around a (non-crowd) instance box, enlarged by ``--context``
and clamped to the image, resized to ``--size`` px and saved as JPEG under
``OUT/{train,val}/<category>/<image id>_<annotation id>.jpg``. The categories are the
``--num-classes`` most frequent ones among instances whose box sides are at least
``--min-side`` px; each keeps at most ``--max-per-class`` of its largest instances.
The split is by **image**: all crops of one image go to the same split (images in a
seeded order join val while it holds at most ``--val-fraction`` of the category's
crops), so no val crop shares its photograph with a train crop of the same class; a
category that cannot keep ``--min-train`` / ``--min-val`` crops that way (most of its
instances in one photograph) is skipped for the next most frequent one.

Prints the classes, the counts per split and the total size.
"""
import argparse
import collections
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='COCO instance crops -> ImageNet layout')
    p.add_argument('--coco-root', default='../shared/data/coco128',
                   help='folder with train2017/ and annotations/instances_train2017.json')
    p.add_argument('--img-dir', default='train2017')
    p.add_argument('--ann-file', default='annotations/instances_train2017.json')
    p.add_argument('--out', default='demo/data/coco_cls')
    p.add_argument('--num-classes', type=int, default=8)
    p.add_argument('--min-side', type=int, default=32, help='smallest box side (px)')
    p.add_argument('--max-per-class', type=int, default=24)
    p.add_argument('--size', type=int, default=112, help='side of the saved crops')
    p.add_argument('--context', type=float, default=1.15,
                   help='crop side = context x the longer box side')
    p.add_argument('--val-fraction', type=float, default=0.35)
    p.add_argument('--min-train', type=int, default=4, help='crops a class keeps in train')
    p.add_argument('--min-val', type=int, default=2, help='crops a class keeps in val')
    p.add_argument('--quality', type=int, default=88, help='JPEG quality')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def square_crop(img: np.ndarray, box, context: float) -> np.ndarray:
    """The square of side ``context * max(w, h)`` centred on ``box = (x, y, w, h)``,
    shifted (then clamped) to stay inside the image."""
    H, W = img.shape[:2]
    x, y, w, h = box
    side = min(max(w, h) * context, H, W)
    cx, cy = x + w / 2, y + h / 2
    x0 = int(round(min(max(cx - side / 2, 0), W - side)))
    y0 = int(round(min(max(cy - side / 2, 0), H - side)))
    side = int(round(side))
    return img[y0:y0 + side, x0:x0 + side]


def split_by_image(anns, val_fraction: float, rng: np.random.Generator):
    """``(train, val)`` annotations, whole images to one side: images in a seeded
    order join val while it stays within ``val_fraction`` of the crops."""
    per_image = collections.Counter(a['image_id'] for a in anns)
    images = sorted(per_image)
    target = val_fraction * len(anns)
    val_images, n_val = set(), 0
    for i in rng.permutation(len(images)):
        img = images[i]
        if n_val + per_image[img] <= target:
            val_images.add(img)
            n_val += per_image[img]
    return ([a for a in anns if a['image_id'] not in val_images],
            [a for a in anns if a['image_id'] in val_images])


def select(instances: dict, args, rng: np.random.Generator) -> dict:
    """``{category: (train, val)}``: the most frequent categories whose by-image
    split keeps at least ``--min-train`` / ``--min-val`` crops."""
    names = {c['id']: c['name'] for c in instances['categories']}
    per_class = collections.defaultdict(list)
    for ann in instances['annotations']:
        w, h = ann['bbox'][2:]
        if not ann.get('iscrowd') and min(w, h) >= args.min_side:
            per_class[names[ann['category_id']]].append(ann)
    # Most instances first, ties by name: deterministic.
    ranked = sorted(per_class, key=lambda n: (-len(per_class[n]), n))
    chosen, skipped = {}, []
    for name in ranked:
        if len(chosen) == args.num_classes:
            break
        anns = sorted(per_class[name], key=lambda a: (-a['area'], a['id']))[:args.max_per_class]
        train, val = split_by_image(anns, args.val_fraction, rng)
        if len(train) < args.min_train or len(val) < args.min_val:
            # e.g. a box of donuts: most instances in one photograph
            skipped.append(f'{name} ({len(train)} train / {len(val)} val)')
            continue
        chosen[name] = (train, val)
    if skipped:
        print('skipped (too few crops on one side of a by-image split): '
              + ', '.join(skipped[:8]) + (' ...' if len(skipped) > 8 else ''))
    if len(chosen) < args.num_classes:
        raise ValueError(f'only {len(chosen)} categories can be split; lower --num-classes')
    return chosen


def main(argv=None):
    args = parse_args(argv)
    ann_path = osp.join(args.coco_root, args.ann_file)
    if not osp.isfile(ann_path):
        raise FileNotFoundError(f'instances file {ann_path!r} does not exist')
    with open(ann_path) as f:
        instances = json.load(f)
    files = {im['id']: im['file_name'] for im in instances['images']}
    chosen = select(instances, args, np.random.default_rng(args.seed))
    if osp.isdir(args.out):
        shutil.rmtree(args.out)  # regenerate from scratch: no stale crops
    counts, total = {}, 0
    for name, parts in chosen.items():
        folder_name = name.replace(' ', '_')
        splits = dict(zip(('train', 'val'), parts))
        for split, items in splits.items():
            folder = osp.join(args.out, split, folder_name)
            os.makedirs(folder, exist_ok=True)
            for ann in items:
                path = osp.join(args.coco_root, args.img_dir, files[ann['image_id']])
                img = cv2.imread(path, cv2.IMREAD_COLOR)
                if img is None:
                    raise ValueError(f'cannot read image {path}')
                crop = cv2.resize(square_crop(img, ann['bbox'], args.context),
                                  (args.size, args.size), interpolation=cv2.INTER_AREA)
                out = osp.join(folder, f'{ann["image_id"]:012d}_{ann["id"]}.jpg')
                cv2.imwrite(out, crop, [cv2.IMWRITE_JPEG_QUALITY, args.quality])
                total += osp.getsize(out)
        counts[folder_name] = {k: len(v) for k, v in splits.items()}
    for name, c in counts.items():
        print(f'{name:<14} train {c["train"]:>3}  val {c["val"]:>3}')
    n_train = sum(c['train'] for c in counts.values())
    n_val = sum(c['val'] for c in counts.values())
    print(f'{len(counts)} classes, {n_train} train + {n_val} val crops, '
          f'{total / 1024:.1f} KiB in {args.out}')


if __name__ == '__main__':
    main()
