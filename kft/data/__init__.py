"""Data: raw files and downloads in, `Splits` and `tf.data` pipelines out.

- `splits`: `Split` and `Splits`, a dataset as in-memory arrays;
- `tables`: the one reader of TSV, CSV, JSON Lines and Parquet files;
- `text_files`: text classification from a folder of such files;
- `tfds`: text and image classification from TensorFlow Datasets;
- `labels`, `assemble`: labels into classes, with the same checks for
  every source;
- `glue_tasks`: GLUE tasks from local TSV files or TensorFlow Datasets;
- `images`, `image_files`: image folders of class subfolders;
- `pipelines`, `augment`: image decoding and augmentation in `tf.data`;
- `stream`: training batches in an order drawn from `(seed, epoch)`;
- `buckets`: text tokenized once and batched by length;
- `shards`: each process's padded part of every global batch, chosen on
  example indices before any row is read;
- `carve`: a seeded, stratified validation split;
- `eda`: text augmentation;
- `examples`: inputs for `kft predict`.

Uses `kft.errors` and `kft.runtime` from kft; TensorFlow only inside
functions.
"""

from kft.data.augment import Augmentation
from kft.data.glue_tasks import glue, read_glue_tsv
from kft.data.images import download_folder, image_folder
from kft.data.splits import Split, Splits
from kft.data.tables import Table, read_table
from kft.data.text_files import text_folder
from kft.data.tfds import tfds_images, tfds_text

__all__ = ["Augmentation", "Split", "Splits", "Table", "download_folder",
           "glue", "image_folder", "read_glue_tsv", "read_table", "text_folder",
           "tfds_images", "tfds_text"]
