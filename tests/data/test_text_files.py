"""kft/data/text_files.py (and labels, assemble): any folder of CSV, TSV,
JSON Lines or Parquet files with named text and label columns."""

import json
import os

import numpy as np
import pytest

from kft import KftError
from kft.data import text_folder
from kft.data.labels import class_names_of, parse_names

pytestmark = pytest.mark.backend_free  # no backend-dependent code


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return str(folder / name)


def csv_folder(tmp_path, train, validation=None, header="text,topic"):
    write(tmp_path, "train.csv", header + "\n" + train)
    if validation is not None:
        write(tmp_path, "validation.csv", header + "\n" + validation)
    return str(tmp_path)


def test_reads_the_topics_csv_with_string_labels(topics_dir):
    splits = text_folder(topics_dir, "text", "topic")
    assert splits.class_names == ("cinema", "money", "people", "time")
    assert (len(splits.train), len(splits.validation),
            len(splits.test)) == (64, 32, 32)
    with open(os.path.join(topics_dir, "train.csv"), encoding="utf-8") as f:
        first = f.readlines()[1]
    text, topic = first.rstrip("\n").rsplit(",", 1)
    assert splits.train.x[0] == text.strip('"')
    assert splits.class_names[splits.train.y[0]] == topic
    assert np.bincount(splits.train.y).tolist() == [16, 16, 16, 16]
    assert splits.origin == {"text_columns": ["text"],
                             "label_column": "topic"}


def test_jsonl_integer_labels_sort_as_numbers(tmp_path):
    rows = [{"a": f"t{i}", "b": f"u{i}", "y": y}
            for i, y in enumerate([10, 2, 10, 2, 3])]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    write(tmp_path, "train.jsonl", text)
    write(tmp_path, "validation.jsonl", text)
    splits = text_folder(str(tmp_path), "a,b", "y")
    assert splits.class_names == ("2", "3", "10")
    assert splits.train.y.tolist() == [2, 0, 2, 0, 1]
    first, second = splits.train.x
    assert (first[1], second[1]) == ("t1", "u1")


def test_parquet_files_are_read(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"body": ["a b", "c d", "e f", "g h"],
                      "label": ["x", "y", "x", "y"]})
    for split in ("train", "validation"):
        pq.write_table(table, str(tmp_path / f"{split}.parquet"))
    splits = text_folder(str(tmp_path), "body")
    assert splits.class_names == ("x", "y")
    assert splits.validation.y.tolist() == [0, 1, 0, 1]


def test_class_names_set_the_order_and_integer_labels_index_them(tmp_path):
    folder = csv_folder(tmp_path, "a,1\nb,0\nc,2\n", "d,2\n")
    splits = text_folder(folder, "text", "topic",
                         class_names="neg,neu,pos")
    assert splits.class_names == ("neg", "neu", "pos")
    assert splits.train.y.tolist() == [1, 0, 2]
    named = csv_folder(tmp_path / "named", "a,pos\nb,neg\nc,neu\n",
                       "d,neg\n")
    splits = text_folder(named, "text", "topic", class_names="pos,neu,neg")
    assert splits.train.y.tolist() == [0, 2, 1]


def test_a_validation_label_training_never_saw_is_named_with_its_line(
        tmp_path):
    folder = csv_folder(tmp_path, "a,cat\nb,dog\n", "c,cat\nd,cow\n")
    with pytest.raises(KftError) as error:
        text_folder(folder, "text", "topic")
    message = str(error.value)
    assert message.startswith(os.path.join(folder, "validation.csv:3: "
                                                   "label 'cow' is not a "))
    assert "(cat, dog)" in message


def test_a_class_without_training_examples_is_refused(tmp_path):
    folder = csv_folder(tmp_path, "a,cat\nb,dog\n", "c,cat\n")
    with pytest.raises(KftError, match=r"class\(es\) 'cow' have no "
                                       r"training example"):
        text_folder(folder, "text", "topic", class_names="cat,dog,cow")


def test_empty_texts_are_counted_or_refused(tmp_path):
    folder = csv_folder(tmp_path, 'a,cat\n"",dog\n" ",cat\nd,dog\n',
                        "c,cat\nd,dog\n")
    with pytest.warns(UserWarning, match=r"train\.csv: 2 example\(s\) with "
                                         r"an empty text .*train\.csv:3, "
                                         r".*train\.csv:4\); they are kept"):
        splits = text_folder(folder, "text", "topic")
    assert len(splits.train) == 4
    with pytest.raises(KftError, match=r"train\.csv:3: the text is empty"
                                       r".*strict=false"):
        text_folder(folder, "text", "topic", strict=True)


@pytest.mark.parametrize("files, kwargs, words", [
    ({"train.csv": "text,topic\na,x\nb,y\n"}, {"label_column": "label"},
     r"train\.csv has no column 'label' \(label_column=\); its columns "
     r"are: text, topic$"),
    ({"train.csv": "text,topic\na,x\nb,y\n"}, {"text_columns": "body"},
     r"no column 'body' \(text_columns=\); its columns are: text, topic"),
    ({"train.xlsx": "?"}, {}, r"train\.xlsx: kft reads \.tsv, \.csv, "
                              r"\.jsonl, \.parquet files, not \.xlsx"),
    ({"train.csv": "t,l\n", "train.tsv": "t\tl\n"}, {},
     r"holds train\.csv, train\.tsv; keep one train file"),
    ({"validation.csv": "text,topic\n"}, {}, r"train\.\* is missing"),
    ({"train.csv": "text,topic\na,x\nb,x\n"}, {"validation_split": 0.5},
     r"has 1 class\(es\) in its labels; a classifier needs at least 2"),
    ({"train.csv": "text,topic\na,x\nb,\n"}, {"validation_split": 0.5},
     r"train\.csv:3: the label is empty"),
    ({"train.csv": "text,topic\na,x\nb,y\n"}, {"text_columns": "a,b,c"},
     r"text_columns='a,b,c' is not valid"),
])
def test_bad_folders_name_the_fix_in_one_line(tmp_path, files, kwargs, words):
    for name, text in files.items():
        write(tmp_path, name, text)
    options = {"text_columns": "text", "label_column": "topic", **kwargs}
    with pytest.raises(KftError, match=words) as error:
        text_folder(str(tmp_path), **options)
    assert "\n" not in str(error.value)


def test_validation_is_carved_when_asked(tmp_path):
    rows = "".join(f"t{i},{'ab'[i % 2]}\n" for i in range(20))
    folder = csv_folder(tmp_path, rows)
    splits = text_folder(folder, "text", "topic", validation_split=0.25,
                         seed=1)
    assert (len(splits.train), len(splits.validation)) == (14, 6)
    assert np.bincount(splits.validation.y).tolist() == [3, 3]
    assert sorted([*splits.train.x, *splits.validation.x]) == sorted(
        f"t{i}" for i in range(20))


def test_label_helpers():
    assert class_names_of(["b", "a", "10"]) == ("10", "a", "b")
    assert class_names_of(["10", "9", "-1"]) == ("-1", "9", "10")
    assert parse_names(" neg, pos ") == ("neg", "pos")
    for bad in ("one", "a,a", "a,,b"):
        with pytest.raises(KftError, match="class_names=.*not valid"):
            parse_names(bad)
