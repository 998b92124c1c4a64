"""`stack install` decides what to fetch from what is missing; a second run does nothing."""

from __future__ import annotations

from stack import install


def test_apt_updates_first_and_installs_only_missing_packages(tmp_path, monkeypatch):
    present = {"prometheus"}
    calls: list[list[str]] = []

    def fake_which(binary):
        return f"/usr/bin/{binary}" if binary in present else None

    def fake_run(argv, **_kw):
        calls.append(argv)
        if argv[:2] == ["apt-get", "install"]:
            present.update(install.APT_PACKAGES[p] for p in argv if p in install.APT_PACKAGES)

    monkeypatch.setattr(install.shutil, "which", fake_which)
    monkeypatch.setattr(install, "_run", fake_run)
    monkeypatch.setattr(install.os, "geteuid", lambda: 0)

    assert install.install_apt(tmp_path) == ["chromium", "chromium-driver"]
    assert calls == [["apt-get", "update"], ["apt-get", "install", "-y", "chromium", "chromium-driver"]]

    calls.clear()
    assert install.install_apt(tmp_path) == []
    assert calls == []


def test_prometheus_comes_without_recommends(tmp_path, monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(install.shutil, "which", lambda b: None if b == "prometheus" else f"/usr/bin/{b}")
    monkeypatch.setattr(install, "_run", lambda argv, **_kw: calls.append(argv))
    monkeypatch.setattr(install.os, "geteuid", lambda: 0)
    try:
        install.install_apt(tmp_path)
    except install.InstallError as exc:  # the fake apt installs nothing, so it is still missing
        assert "prometheus is still not on PATH" in str(exc)
    assert ["apt-get", "install", "-y", "--no-install-recommends", "prometheus"] in calls


def test_cached_artifacts_are_not_fetched_again(tmp_path, monkeypatch):
    monkeypatch.setenv("KIL_CACHE_DIR", str(tmp_path))
    art = install.artifacts()
    art.kafka_lib.mkdir(parents=True)
    (art.kafka_lib / ".complete").write_text("4.3.1")
    art.jmx_agent.parent.mkdir(parents=True)
    art.jmx_agent.write_text("jar")
    art.loki.parent.mkdir(parents=True)
    art.loki.write_text("bin")
    monkeypatch.setattr(install, "_run", lambda *a, **k: (_ for _ in ()).throw(AssertionError("ran")))
    assert install.install_kafka(art, tmp_path) is False
    assert install.install_jmx_agent(art, tmp_path) is False
    assert install.install_loki(art, tmp_path) is False


def test_cache_folder_changes_when_the_pom_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("KIL_CACHE_DIR", str(tmp_path))
    before = install.artifacts().kafka_lib
    pom = tmp_path / "pom.xml"
    pom.write_text(install.KAFKA_POM.read_text() + "<!-- changed -->")
    monkeypatch.setattr(install, "KAFKA_POM", pom)
    assert install.artifacts().kafka_lib != before
