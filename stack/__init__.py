"""Local real observability stack for Kafka Incident Lens.

Command line (also `make stack-install|stack-up|stack-down|stack-status`):

    python -m stack install   fetch/build everything (cached in ~/.cache/kafka-incident-lens, ~/.m2,
                              ~/go/pkg/mod, ~/.cache/go-build); a second run takes about a second
    python -m stack up        fresh start of the whole stack on 127.0.0.1, waits until healthy
    python -m stack down      stops every process (process groups; SIGTERM, then SIGKILL)
    python -m stack status    each component, pid, URL and log file (exit 3 if nothing runs)
    python -m stack record|scenario ...   fault scenarios and recordings (stack.record)
    python -m stack load ...  load generator (stack.load)

What runs (default ports; each can be changed, see stack.config):
    kafka-1..3     Apache Kafka 4.3.1, KRaft, combined broker+controller, static voters; jars from
                   Maven Central (stack/kafka/pom.xml); PLAINTEXT 19092/19102/19112, CONTROLLER +1;
                   logs in <run>/kafka-N/logs: server.log, controller.log, state-change.log,
                   kafka-request.log, log-cleaner.log, kafka-authorizer.log, kafkaServer-gc.log
                   (JVM unified GC log), kafkaServer.out (stdout) -- all in UTC
    JMX exporter   jmx_prometheus_javaagent 1.0.1 in each broker, /metrics on 19094/19104/19114,
                   rules in stack/kafka/jmx-kafka.yml (kafka_server_replicamanager_... names)
    lag-exporter   stack/lag_exporter.py, kafka_exporter's metric names, :9308/metrics
    prometheus     Debian's 2.42, :9090, scrape 5 s, jobs kafka{cluster,broker}, kafka_exporter, loki;
                   loads recording_rules/*.yml (invalid files are skipped with a warning);
                   --web.enable-lifecycle (Stack.reload_rules() re-reads the rule files)
    loki           Loki v1.6.1 (Apache-2.0) built from the Go module proxy, :3100, filesystem storage
    shipper        stack/shipper.py, tails every broker's *.log into Loki with labels
                   {cluster="local", broker="N", job="kafka", filename="<full path>"}

State: <STACK_DIR or repo/.stack>/run/state.json plus one folder per component.

Measured here (2 cores, shared with other work; `python bench/stack_startup.py` re-measures):
install cold 7.2 min (Maven 17 s, agent 5 s, Loki module download + build 6.8 min under load),
warm 0.1-0.5 s; `up` to healthy 12-22 s (37-45 s while the machine was saturated); `down` 6 s;
memory about 1.3-1.5 GiB RSS (each broker 350-470 MiB with a 512 MiB heap, Prometheus and Loki
about 70 MiB each, lag exporter 40 MiB, shipper 32 MiB).

Python API (everything else in the package is internal):

    from stack import Stack, StackError, StackNotRunning, versions

    stack = Stack.attach()          # the running stack (ports as it was started); StackNotRunning if none
    stack = Stack(); stack.start()  # fresh start + wait healthy (StackError names the failing part + log)
    stack.stop()                    # stop everything

    stack.prometheus_url, stack.loki_url, stack.bootstrap_servers, stack.lag_exporter_url
    stack.cluster ("local"), stack.broker_ids ([1, 2, 3]), stack.root (run dir), stack.config
    stack.jmx_url(n), stack.node_pid(n) (None if not alive), stack.node_log_dir(n),
    stack.node_data_dir(n), stack.node_dir(n), stack.config.jmx_port(n), stack.config.kafka_port(n)
    stack.start_node(n, heap="128m", extra_jvm_args=(), wait=True, timeout=120)
    stack.stop_node(n, signal.SIGKILL | signal.SIGTERM | signal.SIGSTOP, wait=True, timeout=60)
    stack.resume_node(n)            # SIGCONT after SIGSTOP
    stack.is_node_running(n)        # alive and not SIGSTOPped
    stack.live_brokers()            # ids the cluster reports registered and unfenced
    stack.active_controller()       # KRaft quorum leader id, or None
    stack.admin(**kafka_python_opts)  # a KafkaAdminClient for this cluster
    stack.wait_healthy(timeout)     # raise StackError unless every part is healthy
    stack.status()                  # [ComponentStatus(name, pid, state, url, log)]
    stack.reload_rules()            # rewrite prometheus.yml with recording_rules/*.yml and reload
    versions()                      # {"kafka": "4.3.1", "jmx_exporter": "1.0.1", "loki": "v1.6.1", ...}
"""

from stack.config import StackConfig
from stack.runtime import ComponentStatus, Stack, StackError, StackNotRunning, versions

__all__ = ["ComponentStatus", "Stack", "StackConfig", "StackError", "StackNotRunning", "versions"]
