"""C2SP signed notes and checkpoints: Go's sumdb/note vector, and every way a note can be
bent being refused."""
import base64

import pytest

from funds import merkle
from funds.signed_note import (
    Checkpoint,
    NoteError,
    Signer,
    open_checkpoint,
    open_note,
    parse_signer,
    parse_verifier,
)

# golang.org/x/mod/sumdb/note's documented example key and signature.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
GO_SIG = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf"
          "qdngotpRZb6KE6RyyBwJnAM=\n")


def test_go_vector_key_id_and_signature():
    signer = parse_signer(GO_SKEY)
    assert str(signer.verifier) == GO_VKEY
    assert signer.sign_note(GO_TEXT) == GO_TEXT + "\n" + GO_SIG
    assert open_note(GO_TEXT + "\n" + GO_SIG, parse_verifier(GO_VKEY)) == GO_TEXT


def test_checkpoint_round_trip_and_format():
    signer = Signer.generate("shanlian.example/ledger")
    root = merkle.root([merkle.leaf_hash(b"x")])
    note = signer.sign_note(Checkpoint("shanlian.example/ledger", 1, root).text())
    lines = note.split("\n")
    assert lines[:4] == ["shanlian.example/ledger", "1", base64.b64encode(root).decode(), ""]
    assert lines[4].startswith("— shanlian.example/ledger ")
    assert len(base64.b64decode(lines[4].split(" ")[2])) == 68
    checkpoint = open_checkpoint(note, signer.verifier, origin="shanlian.example/ledger")
    assert checkpoint == Checkpoint("shanlian.example/ledger", 1, root)
    assert parse_signer(signer.encode()).verifier == signer.verifier


def _note():
    signer = Signer.generate("log")
    root = merkle.root([merkle.leaf_hash(bytes([i])) for i in range(5)])
    return signer, signer.sign_note(Checkpoint("log", 5, root).text())


def test_bent_notes_are_refused():
    signer, note = _note()
    other = Signer.generate("log")
    bent = {
        "size changed": note.replace("\n5\n", "\n6\n", 1),
        "origin changed": note.replace("log\n", "lag\n", 1),
        "signature bit": note[:-6] + ("A" if note[-6] != "A" else "B") + note[-5:],
        "no signature": note.split("\n\n")[0] + "\n",
        "other key": other.sign_note(note.split("\n\n")[0] + "\n"),
        "not utf-8": note.encode()[:3] + b"\xff" + note.encode()[3:],
        "not base64": note.replace(note.split(" ")[-1], "!!!\n"),
    }
    for name, text in bent.items():
        with pytest.raises(NoteError):
            open_checkpoint(text, signer.verifier)
            pytest.fail(f"{name} was accepted")
    with pytest.raises(NoteError):
        open_checkpoint(note, signer.verifier, origin="another/log")


def test_a_signed_note_that_is_not_a_checkpoint_is_refused():
    signer = Signer.generate("log")
    for text in ["log\n-1\nAAAA\n", "log\n01\n" + "A" * 44 + "\n", "log\n5\nAAAA\n", "\n5\nx\n",
                 "log\n0\n" + base64.b64encode(b"\0" * 32).decode() + "\n"]:
        with pytest.raises(NoteError):
            open_checkpoint(signer.sign_note(text), signer.verifier)


@pytest.mark.parametrize("vkey", [
    "", "name", "name+c74f20a3", "name+zzzzzzzz+ARpc", GO_VKEY.replace("c74f20a3", "c74f20a4"),
    GO_VKEY.replace("PeterNeumann", "Peter"), GO_VKEY[:-4], "a b+c74f20a3+ARpc2QcU",
])
def test_bad_verifier_keys(vkey):
    with pytest.raises(NoteError):
        parse_verifier(vkey)


def test_bad_signer_keys():
    for skey in ["", GO_SKEY.replace("c74f20a3", "00000000"), GO_SKEY[:-4], "PRIVATE+KEY+x"]:
        with pytest.raises(NoteError):
            parse_signer(skey)
