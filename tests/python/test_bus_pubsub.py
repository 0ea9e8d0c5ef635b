"""The Swift publisher (via bus-testpub) seen from pyzmq subscribers: contiguous seq, a stalled subscriber,
bounded close, CURVE allow-list, ipc permissions."""
import json
import os
import stat
import subprocess

import pytest
import zmq

from bus_support import PublisherProcess, drain, run_testpub, subscriber, bus_testpub_binary, wait_for_topic


@pytest.fixture
def context():
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def test_pyzmq_subscriber_receives_n_messages_with_contiguous_seq(context):
    n = 2000
    pub = PublisherProcess("--endpoint", "tcp://127.0.0.1:*", "--count", str(n), "--interval-us", "100",
                           "--camera", "port")
    try:
        sub = subscriber(context, pub.endpoint, topics=("det/port", "meta", "health"))
        wait_for_topic(sub, "meta")
        pub.go()
        seqs, health = [], None
        while health is None:
            assert sub.poll(10_000), f"stalled after {len(seqs)} messages"
            topic, body = sub.recv_multipart()
            message = json.loads(body)
            if topic == b"det/port":
                assert message["camera"] == "port"
                seqs.append(message["seq"])
            elif topic == b"health":
                health = message
        assert seqs == list(range(n))
        assert health["frames_processed"] == n
        fields = pub.finish()
        assert fields["dropped"] == 0 and fields["sent"] >= n + 1
    finally:
        pub.kill()


def test_stalled_subscriber_does_not_block_publisher_and_close_is_bounded(context):
    # A subscriber that never reads, with a one-message queue, while the publisher pushes
    # 3000 messages of ~16 kB (48 MB, far beyond socket buffers) with a send high-water mark of 4.
    pub = PublisherProcess("--endpoint", "tcp://127.0.0.1:*", "--count", "3000", "--pad-bytes", "16000",
                           "--hwm", "4", "--linger-ms", "100")
    try:
        stalled = subscriber(context, pub.endpoint, topics=("",), rcvhwm=1)
        wait_for_topic(stalled, "meta")
        reader = subscriber(context, pub.endpoint, topics=("meta",))
        wait_for_topic(reader, "meta")
        pub.go()
        fields = pub.finish(timeout=60)
        assert fields["sent"] >= 3001 and fields["dropped"] == 0
        assert fields["max_publish_us"] < 1_000_000, fields
        assert fields["close_us"] < 2_000_000, fields
        # The stalled subscriber got only what fitted its queues: the rest was dropped for it, not waited on.
        received = drain(stalled, 0.5)
        assert len(received) < 3000
    finally:
        pub.kill()


def test_close_with_attached_reading_and_idle_subscribers_never_hangs(context):
    for linger in ("0", "100", "1000"):
        pub = PublisherProcess("--endpoint", "tcp://127.0.0.1:*", "--count", "500", "--linger-ms", linger)
        try:
            subs = [subscriber(context, pub.endpoint, topics=("",), rcvhwm=1) for _ in range(3)]
            for sub in subs:
                wait_for_topic(sub, "meta")
            pub.go()
            fields = pub.finish(timeout=30)
            assert fields["close_us"] < int(linger) * 1000 + 1_000_000, (linger, fields)
        finally:
            pub.kill()


def write_allow_list(path, keys):
    path.write_text("# allowed subscribers\n\n" + "".join(f"{k.decode()}  # client\n" for k in keys))


def test_curve_allow_list_admits_only_listed_keys(context, tmp_path):
    server_public = run_testpub("keygen", "--public", str(tmp_path / "server.pub"),
                                "--secret", str(tmp_path / "server.key")).strip().encode()
    assert (tmp_path / "server.key").stat().st_mode & 0o777 == 0o600
    listed_public, listed_secret = zmq.curve_keypair()
    unlisted_public, unlisted_secret = zmq.curve_keypair()
    write_allow_list(tmp_path / "allow", [listed_public])
    pub = PublisherProcess("--endpoint", "tcp://127.0.0.1:*", "--count", "300", "--interval-us", "5000",
                           "--curve-secret", str(tmp_path / "server.key"), "--allow", str(tmp_path / "allow"))
    try:
        listed = subscriber(context, pub.endpoint, topics=("",), curve=(server_public, listed_public, listed_secret))
        unlisted = subscriber(context, pub.endpoint, topics=("",),
                              curve=(server_public, unlisted_public, unlisted_secret))
        plaintext = subscriber(context, pub.endpoint, topics=("",))
        wait_for_topic(listed, "meta")
        # The others had the same time to connect; meta has been going out every 20 ms.
        pub.go()
        got_listed = drain(listed, 1.0)
        got_unlisted = drain(unlisted, 0.5)
        got_plaintext = drain(plaintext, 0.5)
        assert any(frames[0] == b"det/cam0" for frames in got_listed)
        assert got_unlisted == []
        assert got_plaintext == []
        fields = pub.finish(timeout=30)
        assert fields["close_us"] < 2_000_000
    finally:
        pub.kill()


def test_curve_with_a_wrong_server_key_receives_nothing(context, tmp_path):
    run_testpub("keygen", "--public", str(tmp_path / "s.pub"), "--secret", str(tmp_path / "s.key"))
    client_public, client_secret = zmq.curve_keypair()
    impostor_server, _ = zmq.curve_keypair()
    write_allow_list(tmp_path / "allow", [client_public])
    pub = PublisherProcess("--endpoint", "tcp://127.0.0.1:*", "--count", "10",
                           "--curve-secret", str(tmp_path / "s.key"), "--allow", str(tmp_path / "allow"))
    try:
        sub = subscriber(context, pub.endpoint, topics=("",), curve=(impostor_server, client_public, client_secret))
        assert drain(sub, 1.0) == []
        pub.go()
        pub.finish()
    finally:
        pub.kill()


def test_ipc_endpoint_has_restrictive_mode_and_is_not_stolen(context, tmp_path):
    path = tmp_path / "det.sock"
    pub = PublisherProcess("--endpoint", f"ipc://{path}", "--count", "20", "--ipc-mode", "600")
    try:
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert os.stat(path).st_mode & 0o777 == 0o600
        sub = subscriber(context, f"ipc://{path}")
        wait_for_topic(sub, "meta")
        result = subprocess.run([str(bus_testpub_binary()), "publish", "--endpoint", f"ipc://{path}"], input="go\n",
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2
        assert "already in use" in result.stderr
        pub.go()
        frames = drain(sub, 0.5)
        assert sum(1 for f in frames if f[0] == b"det/cam0") == 20
        pub.finish()
    finally:
        pub.kill()


def test_stale_ipc_socket_file_from_a_crashed_daemon_is_reused(context, tmp_path):
    import socket
    path = tmp_path / "det.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: what a killed daemon leaves behind
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    pub = PublisherProcess("--endpoint", f"ipc://{path}", "--count", "5")
    try:
        sub = subscriber(context, f"ipc://{path}")
        wait_for_topic(sub, "meta")
        assert os.stat(path).st_mode & 0o777 == 0o660
        pub.go()
        assert pub.finish()["dropped"] == 0
    finally:
        pub.kill()
