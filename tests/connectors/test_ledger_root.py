"""The beancount connector reaches only files inside the ledger folder (LEDGER_ROOT):
the ledger name is checked when the connector opens it, whatever the folder holds by
then, and its errors name the ledger as setup names it, never a server path or what a
file holds."""

import os
import threading

import pytest

from accounting.connectors import get_connector
from core.errors import ApplicationError
from tests.exporters import samples


def connector_for(name):
    return get_connector("beancount", {"ledger_path": name})


def refusal(connector, action="send"):
    """The ApplicationError the action raises, run in a thread so that a read that
    would block (a FIFO) fails the test instead of hanging it."""
    outcome = {}

    def run():
        try:
            if action == "send":
                connector.send([samples.FREIGHT], batch_identifier="GL-1")
            elif action == "find":
                connector.find(record_type="freight", record_id=3)
            else:
                connector.remove(record_type="freight", record_id=3)
        except ApplicationError as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), f"{action} is stuck"
    assert "error" in outcome, f"{action} was not refused"
    return outcome["error"]


@pytest.mark.parametrize(
    "name",
    ["/etc/hostname", "../x.beancount", "a/../../x.beancount", "", "a/", "a\x00b", "a\x1bb"],
)
def test_names_that_leave_the_folder_are_refused_before_anything_is_opened(ledger_root, name):
    with pytest.raises(ApplicationError) as error:
        connector_for(name)
    assert error.value.code == "validation_error"
    assert "ledger_path" in error.value.message
    assert str(ledger_root) not in error.value.message
    assert os.listdir(ledger_root) == []


@pytest.mark.parametrize("action", ["send", "find", "remove"])
def test_a_fifo_is_refused_without_waiting_for_a_writer(ledger_root, action):
    os.mkfifo(ledger_root / "main.beancount")
    error = refusal(connector_for("main.beancount"), action)
    assert "main.beancount is not a regular file" in error.message
    assert str(ledger_root) not in error.message


def test_a_folder_is_not_a_ledger(ledger_root):
    (ledger_root / "main.beancount").mkdir()
    error = refusal(connector_for("main.beancount"))
    assert "main.beancount is not a regular file" in error.message


@pytest.mark.parametrize("action", ["send", "find", "remove"])
def test_a_device_behind_a_symlink_is_never_read(ledger_root, action):
    (ledger_root / "zero.beancount").symlink_to("/dev/zero")
    error = refusal(connector_for("zero.beancount"), action)
    assert "zero.beancount" in error.message and "/dev" not in error.message


def test_a_symlink_that_leads_out_is_refused_and_its_target_untouched(ledger_root, tmp_path):
    target = tmp_path / "hostname"
    target.write_text("server-1\n")
    (ledger_root / "main.beancount").symlink_to(target)
    error = refusal(connector_for("main.beancount"))
    assert "outside the ledger folder" in error.message
    assert target.read_text() == "server-1\n"
    assert not (tmp_path / "hostname.lock").exists()


def test_a_symlink_within_the_folder_is_followed_and_its_lock_sits_beside_the_target(
    ledger_root,
):
    (ledger_root / "books").mkdir()
    (ledger_root / "current.beancount").symlink_to("books/2026.beancount")
    connector_for("current.beancount").send([samples.FREIGHT], batch_identifier="GL-1")
    assert "psa_record" in (ledger_root / "books" / "2026.beancount").read_text()
    assert (ledger_root / "books" / "2026.beancount.lock").is_file()
    assert (ledger_root / "current.beancount").is_symlink()


def test_a_ledger_over_the_size_limit_is_not_read(ledger_root, settings):
    settings.LEDGER_MAX_BYTES = 100
    ledger = ledger_root / "main.beancount"
    ledger.write_text(";" + "x" * 200 + "\n")
    for action in ("send", "find", "remove"):
        error = refusal(connector_for("main.beancount"), action)
        assert "main.beancount is larger than" in error.message
    assert ledger.read_text() == ";" + "x" * 200 + "\n"


def test_a_ledger_that_is_not_text_is_named_without_its_content(ledger_root):
    (ledger_root / "main.beancount").write_bytes(b"s3cr3t \xff\xfe\n")
    error = refusal(connector_for("main.beancount"))
    assert "main.beancount" in error.message and "s3cr3t" not in error.message


def test_a_parse_error_names_the_line_and_keeps_the_content_for_the_log(ledger_root, caplog):
    (ledger_root / "main.beancount").write_text(
        'option "operating_currency" "USD"\n\ns3cr3t-P@ssw0rd!\n'
    )
    error = refusal(connector_for("main.beancount"))
    assert error.message == (
        "The ledger main.beancount does not parse at line 3; fix that line in the ledger, "
        "then retry the transfer."
    )
    assert error.code == "ledger_invalid"
    assert any("s3cr3t" in record.getMessage() for record in caplog.records)


def test_the_root_set_as_a_file_is_a_clear_error(tmp_path, settings):
    settings.LEDGER_ROOT = tmp_path / "not-a-folder"
    settings.LEDGER_ROOT.write_text("")
    error = refusal(connector_for("main.beancount"))
    assert "ledger folder" in error.message and str(tmp_path) not in error.message
