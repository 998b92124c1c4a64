from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.synthetic_bundle import make_bundle

HOME = str(Path(__file__).resolve().parents[2] / "app" / "ui" / "Home.py")


@pytest.fixture()
def samples(tmp_path, monkeypatch):
    make_bundle(tmp_path / "synthetic_broker_down")
    monkeypatch.setattr("app.samples.SAMPLES_DIR", tmp_path)
    return tmp_path


def test_home_shows_the_incident_summary(samples):
    app = AppTest.from_file(HOME, default_timeout=60)
    app.query_params["broker"] = "2"
    app.run()
    assert not app.exception
    assert any("Incident" in e.value for e in app.error)
    assert app.sidebar.selectbox[1].value == "2"
    assert app.query_params["broker"] == ["2"] or app.query_params["broker"] == "2"


def test_bad_window_is_a_message_not_an_exception(samples):
    app = AppTest.from_file(HOME, default_timeout=60)
    app.query_params["from"] = "not-a-time"
    app.run()
    assert not app.exception
    assert any("Window not understood" in e.value for e in app.error)
