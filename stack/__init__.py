"""Local real observability stack for Kafka Incident Lens (work in progress; API documented below).

Command line: ``python -m stack install|up|down|status``.
"""
