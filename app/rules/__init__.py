"""Prometheus-native twins of what the app detects: recording and alert rules, their promtool
tests, rules fitted to one incident, and Grafana dashboards, all from promql_library/ signal ids.

    generate.artefacts()            every generated file as {path: text}
    generate.write() / .diff()      write them to the tree / diff them against it
    incident.rules_for_incident()   alert rules + promtool test from a diagnosed incident
    dashboards.dashboard_artefacts()  Grafana dashboards (grafana-foundation-sdk) + provisioning
"""
