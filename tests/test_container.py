"""The container image runs the product as an unprivileged user that owns the data
folder (export files and ledgers), never as root."""

import re
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def test_the_image_runs_as_an_unprivileged_user_owning_the_data_folder():
    steps = instructions()
    users = [rest for keyword, rest in steps if keyword == "USER"]
    assert users, "the image must name the user it runs as"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # the user is made in the image, without a login shell or a password
    runs = " ".join(rest for keyword, rest in steps if keyword == "RUN")
    assert re.search(rf"useradd\b[^&;]*\b{user}\b", runs)
    assert "/usr/sbin/nologin" in runs
    # it owns the folders the product writes: the data folder and the static files
    assert re.search(rf"chown\b[^&;]*\b{user}\b[^&;]*/data\b", runs)
    assert re.search(r"mkdir -p[^&;]*/data/media[^&;]*/data/ledgers", runs)
    # nothing after the switch goes back to root
    last_user = max(i for i, (keyword, _) in enumerate(steps) if keyword == "USER")
    assert all(keyword != "USER" for keyword, _ in steps[last_user + 1 :])
