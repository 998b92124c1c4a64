from datetime import UTC, datetime, timedelta

import pytest

from app.model import Action, Evidence, Hypothesis, Incident, SourceReport, Window


def _incident() -> Incident:
    t0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    return Incident(
        window=Window(t0, t0 + timedelta(minutes=15)),
        cluster="local",
        brokers=["1", "2", "3"],
        status="incident",
        started_at=t0 + timedelta(minutes=7, seconds=30),
        summary="broker 2 stopped",
        hypotheses=[
            Hypothesis(
                cause="broker_down",
                confidence=0.82,
                brokers=["2"],
                evidence=["E1", "E2"],
                verification=['up{broker="2"}'],
                actions=[Action("Check the process", "systemctl status kafka", "safe")],
            )
        ],
        evidence=[
            Evidence("E1", "metric", "broker_up", "2", t0, value=0.0, before=1.0, query='up{broker="2"}'),
            Evidence("E2", "log", "isr_shrink", "1", t0, count=14, sample="Shrinking ISR from 1,2,3 to 1,3"),
        ],
        missing=["logs: Loki not configured"],
        sources=[SourceReport("metrics", "ok")],
    )


def test_incident_json_round_trip_is_lossless():
    incident = _incident()
    again = Incident.from_json(incident.to_json())
    assert again == incident
    assert again.to_dict()["started_at"] == "2026-11-01T12:07:30.000Z"


def test_unknown_keys_are_rejected():
    data = _incident().to_dict()
    data["surprise"] = 1
    with pytest.raises(ValueError, match="unknown keys"):
        Incident.from_dict(data)


def test_window_rejects_end_before_start():
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="not after start"):
        Window(t0, t0)
