"""Interop agent for OpAMP Commander's tests, built on the Python OpAMP client's public API.

It connects over plain HTTP, reports its description and effective config, heartbeats, applies
remote config with JSON bodies and reports the outcome. Everything it sees is printed on stdout as
one JSON object per line (events); JSON commands arrive on stdin ({"cmd": "stop"}, {"cmd": "stats"}).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import uuid

from opentelemetry._opamp.agent import OpAMPAgent
from opentelemetry._opamp.callbacks import OpAMPCallbacks
from opentelemetry._opamp.client import OpAMPClient
from opentelemetry._opamp.proto import opamp_pb2
from opentelemetry._opamp.transport.requests import RequestsTransport

_out_lock = threading.Lock()


def emit(event: str, **fields) -> None:
    with _out_lock:
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()


class TappedTransport(RequestsTransport):
    """The library's own requests transport, with every exchange reported as events."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        self.received = 0

    def send(self, *, url, headers, data, timeout_millis, tls_certificate, tls_client_certificate=None, tls_client_key=None):
        req = opamp_pb2.AgentToServer()
        req.ParseFromString(data)
        self.sent += 1
        emit(
            "sent",
            uid=str(uuid.UUID(bytes=req.instance_uid)),
            sequenceNum=req.sequence_num,
            capabilities=req.capabilities,
            hasDescription=req.HasField("agent_description"),
            hasEffectiveConfig=req.HasField("effective_config"),
            hasRemoteConfigStatus=req.HasField("remote_config_status"),
            agentDisconnect=req.HasField("agent_disconnect"),
        )
        try:
            msg = super().send(
                url=url,
                headers=headers,
                data=data,
                timeout_millis=timeout_millis,
                tls_certificate=tls_certificate,
                tls_client_certificate=tls_client_certificate,
                tls_client_key=tls_client_key,
            )
        except Exception as exc:
            emit("send_failed", error=str(exc))
            raise
        self.received += 1
        cs = msg.connection_settings if msg.HasField("connection_settings") else None
        emit(
            "message",
            instanceUid=str(uuid.UUID(bytes=msg.instance_uid)) if len(msg.instance_uid) == 16 else msg.instance_uid.hex(),
            flags=msg.flags,
            capabilities=msg.capabilities,
            hasRemoteConfig=msg.HasField("remote_config"),
            hasConnectionSettings=cs is not None,
            offeredHeartbeatSeconds=(cs.opamp.heartbeat_interval_seconds if cs is not None and cs.HasField("opamp") else None),
            hasErrorResponse=msg.HasField("error_response"),
        )
        return msg


class Callbacks(OpAMPCallbacks):
    def __init__(self) -> None:
        self.connected = False

    def on_connect(self, agent, client):
        if not self.connected:
            self.connected = True
            emit("connected")

    def on_connect_failed(self, agent, client, error):
        self.connected = False
        emit("connect_failed", error=str(error))

    def on_error(self, agent, client, error_response):
        emit("error_response", type=int(error_response.type), message=error_response.error_message)

    def on_message(self, agent, client, message):
        rc = message.remote_config
        if rc is None:
            return
        config_hash = rc.config_hash
        emit("remote_config", hash=config_hash.hex(), files=sorted(rc.config.config_map.keys()))
        try:
            decoded = dict(client.decode_remote_config(rc))
        except Exception as exc:  # the library raises on non-JSON content types and bad JSON
            status = client.update_remote_config_status(
                remote_config_hash=config_hash,
                status=opamp_pb2.RemoteConfigStatuses_FAILED,
                error_message=str(exc),
            )
            emit("config_failed", hash=config_hash.hex(), error=str(exc))
            if status is not None:
                agent.send(payload=client.build_remote_config_status_response_message(status))
            return
        # "Applying" a JSON config means running with it: it becomes the effective config.
        client.update_effective_config(decoded, "application/json")
        status = client.update_remote_config_status(
            remote_config_hash=config_hash,
            status=opamp_pb2.RemoteConfigStatuses_APPLIED,
        )
        emit("config_applied", hash=config_hash.hex(), config=decoded)
        if status is not None:
            # Status and effective config together: the full-state message carries both.
            agent.send(payload=client.build_full_state_message())


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--heartbeat", type=float, default=30)
    p.add_argument("--service-name", default="python-interop-agent")
    p.add_argument("--service-version", default="1.0.0")
    p.add_argument("--host-name", default="")
    p.add_argument("--effective-config", default="", help="JSON object reported as the effective config under the key ''")
    p.add_argument("--header", action="append", default=[], help="NAME=VALUE sent with every request")
    args = p.parse_args()

    headers = dict(h.split("=", 1) for h in args.header)
    non_identifying = {"host.name": args.host_name} if args.host_name else None
    transport = TappedTransport()
    client = OpAMPClient(
        endpoint=args.url,
        headers=headers,
        timeout_millis=5000,
        agent_identifying_attributes={"service.name": args.service_name, "service.version": args.service_version},
        agent_non_identifying_attributes=non_identifying,
        transport=transport,
    )
    if args.effective_config:
        client.update_effective_config({"": json.loads(args.effective_config)}, "application/json")
    callbacks = Callbacks()
    agent = OpAMPAgent(interval=args.heartbeat, callbacks=callbacks, client=client, initial_backoff=0.5)
    agent.start()

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
        except json.JSONDecodeError:
            continue
        if cmd.get("cmd") == "stats":
            emit("stats", sent=transport.sent, received=transport.received)
        elif cmd.get("cmd") == "stop":
            break
    agent.stop(timeout=5)
    emit("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
