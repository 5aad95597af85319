"""`netarium app`'s Streamlit options: XSRF protection is on, in the command line and the repository's config."""

from pathlib import Path

import tomllib
from streamlit import config as st_config

from netarium.ui.server import streamlit_args

ROOT = Path(__file__).resolve().parents[3]


def options(args: list[str]) -> dict[str, str]:
    flags = args[2:]  # "run", the app's path, then --option value pairs
    assert all(f.startswith("--") for f in flags[::2])
    return dict(zip((f[2:] for f in flags[::2]), flags[1::2], strict=True))


def test_the_app_command_turns_xsrf_protection_on():
    opts = options(streamlit_args(8501, "127.0.0.1"))
    assert opts["server.enableXsrfProtection"] == "true"
    assert opts["server.address"] == "127.0.0.1" and opts["server.port"] == "8501"
    assert opts.get("server.enableCORS", "true") == "true"  # Streamlit turns XSRF off when CORS is off


def test_the_server_takes_no_upload_larger_than_a_csv_file_may_be():
    from netarium.tasks.csv import MAX_UPLOAD_BYTES

    assert int(options(streamlit_args(8501))["server.maxUploadSize"]) * 2**20 == MAX_UPLOAD_BYTES


def test_the_options_are_streamlits_and_the_config_file_agrees():
    opts = options(streamlit_args(8501))
    for key in opts:
        st_config.get_option(key)  # raises for a name Streamlit does not have
    with open(ROOT / ".streamlit" / "config.toml", "rb") as f:
        toml = tomllib.load(f)
    assert toml["server"]["enableXsrfProtection"] is True
    flat = {f"{section}.{k}": v for section, values in toml.items() for k, v in values.items()}
    for key, value in flat.items():  # the file and the command line say the same
        assert opts[key] == str(value).lower(), key
