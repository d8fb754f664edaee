"""The inbox: uploads are saved before anything else, under plain names, and none overwrites another."""

import time

from dashboard.load.inbox import inbox_folders, stash_uploads
from dashboard.load.ingest import ingest
from dashboard.settings import Settings
from dashboard.store.snapshots import DataDir
from tests.fixtures import MIXED


def test_uploads_are_saved_byte_for_byte_under_plain_names_in_a_new_folder(tmp_path):
    data = DataDir(tmp_path / "data")
    uploads = [("../../etc/invoices.csv", b"a,b\n1,2\n"), ("C:\\Users\\me\\fx.csv", b"\xe9\x00binary"), (".payments.csv", b"")]
    folder = stash_uploads(data, uploads)
    assert folder.parent == data.inbox and folder.name.startswith("upload-")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"invoices.csv": b"a,b\n1,2\n", "fx.csv": b"\xe9\x00binary", "payments.csv": b""}
    assert not (tmp_path / "etc").exists()


def test_two_uploads_with_the_same_plain_name_are_both_kept(tmp_path):
    """Two 'invoices.csv' from different folders (or 'a?.csv' and 'a_.csv'): the second does not overwrite the first."""
    data = DataDir(tmp_path / "data")
    folder = stash_uploads(data, [("jan/invoices.csv", b"1"), ("feb/invoices.csv", b"2"), ("Invoices.csv", b"3"), ("a?.csv", b"4"), ("a_.csv", b"5")])
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {
        "invoices.csv": b"1",
        "invoices (2).csv": b"2",
        "Invoices (3).csv": b"3",  # one file on Windows and macOS otherwise
        "a_.csv": b"4",
        "a_ (2).csv": b"5",
    }


def test_each_upload_gets_its_own_folder_newest_listed_first(tmp_path):
    data = DataDir(tmp_path / "data")
    assert inbox_folders(data) == []
    a = stash_uploads(data, [("invoices.csv", b"1")])
    time.sleep(0.002)  # ids sort by the millisecond
    b = stash_uploads(data, [("invoices.csv", b"2")])
    (data.inbox / ".hidden").mkdir()
    assert a != b and inbox_folders(data) == [b, a]
    assert (a / "invoices.csv").read_bytes() == b"1"


def test_a_stashed_upload_loads(tmp_path):
    data = DataDir(tmp_path / "data")
    folder = stash_uploads(data, [(f"exports/{name}.csv", text.strip().encode() + b"\n") for name, text in MIXED.items()])
    res = ingest([folder], data, Settings())
    assert res.ok, res.report.to_text()
    assert res.snapshot.manifest["rows"]["invoices"] == 5
