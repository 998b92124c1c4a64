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


def _tab(app, label):
    return next(t for t in app.tabs if t.label == label)


def test_note_and_rules_render(samples):
    app = AppTest.from_file(HOME, default_timeout=120)
    app.query_params["broker"] = "all"
    app.run()
    assert not app.exception
    note = _tab(app, "Note")
    assert any("Evidence" in m.value or "E1" in m.value for m in note.markdown), "the note did not render"
    rules = _tab(app, "Rules")
    codes = [c.value for c in rules.code]
    assert any("alert:" in c and "expr:" in c for c in codes), "the incident rules YAML did not render"


def test_unreachable_prometheus_is_a_message_not_an_exception(samples, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    app = AppTest.from_file(HOME, default_timeout=120)
    app.run()
    assert not app.exception
    assert any("127.0.0.1:9" in e.value for e in app.error), [e.value for e in app.error]
