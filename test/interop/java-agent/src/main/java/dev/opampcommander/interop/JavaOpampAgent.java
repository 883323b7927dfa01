package dev.opampcommander.interop;

import io.opentelemetry.opamp.client.OpampClient;
import io.opentelemetry.opamp.client.OpampClientBuilder;
import io.opentelemetry.opamp.client.internal.connectivity.http.HttpSender;
import io.opentelemetry.opamp.client.internal.connectivity.http.OkHttpSender;
import io.opentelemetry.opamp.client.internal.connectivity.websocket.OkHttpWebSocket;
import io.opentelemetry.opamp.client.internal.connectivity.websocket.WebSocket;
import io.opentelemetry.opamp.client.internal.request.delay.PeriodicDelay;
import io.opentelemetry.opamp.client.internal.request.delay.RetryPeriodicDelay;
import io.opentelemetry.opamp.client.internal.request.service.HttpRequestService;
import io.opentelemetry.opamp.client.internal.request.service.WebSocketRequestService;
import io.opentelemetry.opamp.client.internal.response.MessageData;
import io.opentelemetry.opamp.client.internal.state.State;
import io.opentelemetry.opamp.client.request.service.RequestService;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import okhttp3.OkHttpClient;
import okio.ByteString;
import opamp.proto.AgentConfigFile;
import opamp.proto.AgentConfigMap;
import opamp.proto.AgentDescription;
import opamp.proto.AgentRemoteConfig;
import opamp.proto.AgentToServer;
import opamp.proto.AnyValue;
import opamp.proto.KeyValue;
import opamp.proto.RemoteConfigStatus;
import opamp.proto.RemoteConfigStatuses;
import opamp.proto.ServerErrorResponse;
import opamp.proto.ServerToAgent;

/**
 * OpAMP Commander's interop agent around the OpenTelemetry Java contrib OpAMP client. Flags in,
 * one JSON object per line on stdout (events), JSON commands on stdin ({"cmd":"stop"},
 * {"cmd":"set_attribute","key":"k","value":"v"}). The request services and senders live in the
 * library's "internal" packages: they are the only way to choose HTTP or WebSocket.
 *
 * <p>What "applying" a config means here: every entry must be a JSON object (content type
 * application/json, body starting with '{'); the map then becomes the effective config and the
 * status APPLIED. Anything else is FAILED with a message naming the entry.
 */
public final class JavaOpampAgent {
  private static final Object OUT = new Object();
  private static final long T0 = System.nanoTime();

  private JavaOpampAgent() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parseArgs(argv);
    String url = args.getOrDefault("url", "http://127.0.0.1:4320/v1/opamp");
    double pollSeconds = Double.parseDouble(args.getOrDefault("heartbeat", "30"));
    long retryMs = Long.parseLong(args.getOrDefault("retry-initial-ms", "1000"));

    OkHttpClient http =
        new OkHttpClient.Builder()
            .addInterceptor(
                chain -> {
                  okhttp3.Request req = chain.request();
                  boolean upgrade = "websocket".equalsIgnoreCase(req.header("Upgrade"));
                  okhttp3.Response res;
                  try {
                    res = chain.proceed(req);
                  } catch (IOException e) {
                    emit("transport_error", "websocket", upgrade, "error", String.valueOf(e.getMessage()));
                    throw e;
                  }
                  emit(
                      upgrade ? "ws_handshake" : "http_response",
                      "status",
                      res.code(),
                      "retryAfter",
                      res.header("Retry-After"));
                  return res;
                })
            .build();

    RequestService service;
    String transport;
    if (url.startsWith("ws")) {
      transport = "websocket";
      service =
          WebSocketRequestService.create(
              new TappedWebSocket(OkHttpWebSocket.create(url, http)),
              RetryPeriodicDelay.create(Duration.ofMillis(retryMs)));
    } else {
      transport = "http";
      service =
          HttpRequestService.create(
              new TappedSender(OkHttpSender.create(url, http)),
              PeriodicDelay.ofFixedDuration(Duration.ofMillis((long) (pollSeconds * 1000))),
              RetryPeriodicDelay.create(Duration.ofMillis(retryMs)));
    }

    Effective effective = new Effective();
    String initial = args.get("effective-config");
    if (initial != null) effective.set(configMap(Map.of("", initial)));
    Map<String, String> identifying = new LinkedHashMap<>();
    identifying.put("service.name", args.getOrDefault("service-name", "java-interop-agent"));
    identifying.put("service.version", args.getOrDefault("service-version", "1.0.0"));
    OpampClientBuilder builder =
        OpampClient.builder()
            .setRequestService(service)
            .enableRemoteConfig()
            .enableEffectiveConfigReporting()
            .setEffectiveConfigState(effective);
    identifying.forEach(builder::putIdentifyingAttribute);
    // A uid of our choosing: two processes given one uid are a clone (a copied disk) to the server.
    String fixedUid = args.get("instance-uid");
    if (fixedUid != null) {
      UUID u = UUID.fromString(fixedUid);
      builder.setInstanceUid(
          ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits()).array());
    }
    String host = args.get("host-name");
    if (host != null) builder.putNonIdentifyingAttribute("host.name", host);

    emit("starting", "transport", transport);
    OpampClient client = builder.build(new Callbacks(effective));

    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      Map<String, String> cmd = parseFlatJson(line);
      String name = cmd.getOrDefault("cmd", "");
      if (name.equals("stop")) break;
      if (name.equals("set_attribute")) {
        identifying.put(cmd.get("key"), cmd.get("value"));
        List<KeyValue> attrs = new ArrayList<>();
        identifying.forEach((k, v) -> attrs.add(stringAttr(k, v)));
        List<KeyValue> nonIdentifying = new ArrayList<>();
        if (host != null) nonIdentifying.add(stringAttr("host.name", host));
        client.setAgentDescription(
            new AgentDescription.Builder()
                .identifying_attributes(attrs)
                .non_identifying_attributes(nonIdentifying)
                .build());
      }
    }
    client.close();
    Thread.sleep(300); // let the last (agent_disconnect) request leave
    emit("stopped");
    System.exit(0);
  }

  /** Effective config state: the library reads it when it builds a message that carries it. */
  static final class Effective extends State.EffectiveConfig {
    private final AtomicReference<opamp.proto.EffectiveConfig> value = new AtomicReference<>();

    void set(AgentConfigMap map) {
      value.set(new opamp.proto.EffectiveConfig.Builder().config_map(map).build());
    }

    @Override
    public opamp.proto.EffectiveConfig get() {
      return value.get();
    }
  }

  static final class Callbacks implements OpampClient.Callbacks {
    private final Effective effective;
    private volatile boolean connected;

    Callbacks(Effective effective) {
      this.effective = effective;
    }

    @Override
    public void onConnect(OpampClient client) {
      if (!connected) {
        connected = true;
        emit("connected");
      }
    }

    @Override
    public void onConnectFailed(OpampClient client, Throwable t) {
      connected = false;
      emit("connect_failed", "error", String.valueOf(t));
    }

    @Override
    public void onErrorResponse(OpampClient client, ServerErrorResponse error) {
      emit("error_response", "type", error.type.getValue(), "message", error.error_message);
    }

    @Override
    public void onMessage(OpampClient client, MessageData data) {
      AgentRemoteConfig rc = data.getRemoteConfig();
      if (rc == null) return;
      ByteString hash = rc.config_hash;
      Map<String, AgentConfigFile> files = rc.config == null ? Map.of() : rc.config.config_map;
      emit("remote_config", "hash", hash.hex(), "files", String.join(",", new TreeMap<>(files).keySet()));
      String problem = null;
      Map<String, String> bodies = new TreeMap<>();
      for (Map.Entry<String, AgentConfigFile> e : new TreeMap<>(files).entrySet()) {
        String ct = e.getValue().content_type;
        String body = e.getValue().body.utf8();
        if (!ct.equals("application/json") && !ct.equals("text/json")) {
          problem = "cannot apply " + e.getKey() + ": content type " + ct + " is not JSON";
          break;
        }
        if (!body.trim().startsWith("{")) {
          problem = "cannot apply " + e.getKey() + ": not a JSON object";
          break;
        }
        bodies.put(e.getKey(), body);
      }
      RemoteConfigStatus.Builder status = new RemoteConfigStatus.Builder().last_remote_config_hash(hash);
      if (problem != null) {
        emit("config_failed", "hash", hash.hex(), "error", problem);
        client.setRemoteConfigStatus(
            status.status(RemoteConfigStatuses.RemoteConfigStatuses_FAILED).error_message(problem).build());
        return;
      }
      effective.set(configMap(bodies));
      effective.notifyUpdate();
      emit("config_applied", "hash", hash.hex());
      client.setRemoteConfigStatus(status.status(RemoteConfigStatuses.RemoteConfigStatuses_APPLIED).build());
    }
  }

  /** The library's HTTP sender, with each exchange decoded and reported. */
  static final class TappedSender implements HttpSender {
    private final HttpSender delegate;

    TappedSender(HttpSender delegate) {
      this.delegate = delegate;
    }

    @Override
    public CompletableFuture<Response> send(BodyWriter writer, int contentLength) {
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      try {
        writer.writeTo(buf);
      } catch (IOException e) {
        CompletableFuture<Response> f = new CompletableFuture<>();
        f.completeExceptionally(e);
        return f;
      }
      byte[] body = buf.toByteArray();
      reportSent(body);
      return delegate
          .send(out -> out.write(body), body.length)
          .thenApply(
              res -> {
                if (res.statusCode() < 200 || res.statusCode() >= 300) return res;
                byte[] bytes;
                try (InputStream is = res.bodyInputStream()) {
                  bytes = is.readAllBytes();
                } catch (IOException e) {
                  throw new RuntimeException(e);
                }
                reportReceived(bytes);
                return new Buffered(res, bytes);
              });
    }
  }

  /** A response whose body was already read (to report it). */
  static final class Buffered implements HttpSender.Response {
    private final HttpSender.Response res;
    private final byte[] body;

    Buffered(HttpSender.Response res, byte[] body) {
      this.res = res;
      this.body = body;
    }

    @Override
    public int statusCode() {
      return res.statusCode();
    }

    @Override
    public String statusMessage() {
      return res.statusMessage();
    }

    @Override
    public InputStream bodyInputStream() {
      return new ByteArrayInputStream(body);
    }

    @Override
    public String getHeader(String name) {
      return res.getHeader(name);
    }

    @Override
    public void close() throws IOException {
      res.close();
    }
  }

  /** The library's WebSocket, with each frame decoded and reported. */
  static final class TappedWebSocket implements WebSocket {
    private final WebSocket delegate;

    TappedWebSocket(WebSocket delegate) {
      this.delegate = delegate;
    }

    @Override
    public void open(Listener listener) {
      delegate.open(
          new Listener() {
            @Override
            public void onOpen() {
              emit("ws_open");
              listener.onOpen();
            }

            @Override
            public void onClosing() {
              emit("ws_closing");
              listener.onClosing();
            }

            @Override
            public void onClosed() {
              emit("ws_closed");
              listener.onClosed();
            }

            @Override
            public void onMessage(byte[] data) {
              reportReceived(withoutHeader(data));
              listener.onMessage(data);
            }

            @Override
            public void onFailure(Throwable t) {
              emit("ws_failure", "error", String.valueOf(t));
              listener.onFailure(t);
            }
          });
    }

    @Override
    public void close(int code, String reason) {
      delegate.close(code, reason);
    }

    @Override
    public boolean send(byte[] request) {
      boolean ok = delegate.send(request);
      if (ok) reportSent(withoutHeader(request));
      else emit("send_deferred");
      return ok;
    }
  }

  /** Drops the WebSocket varint header (0x00 for the current protocol). */
  static byte[] withoutHeader(byte[] frame) {
    int i = 0;
    while (i < frame.length && (frame[i] & 0x80) != 0) i++;
    byte[] out = new byte[frame.length - i - 1];
    System.arraycopy(frame, i + 1, out, 0, out.length);
    return out;
  }

  static void reportSent(byte[] body) {
    try {
      AgentToServer m = AgentToServer.ADAPTER.decode(body);
      emit(
          "sent",
          "uid",
          uuid(m.instance_uid),
          "sequenceNum",
          m.sequence_num,
          "capabilities",
          m.capabilities,
          "flags",
          m.flags,
          "hasDescription",
          m.agent_description != null,
          "hasEffectiveConfig",
          m.effective_config != null,
          "hasRemoteConfigStatus",
          m.remote_config_status != null,
          "agentDisconnect",
          m.agent_disconnect != null,
          "bytes",
          body.length);
    } catch (IOException e) {
      emit("sent_undecodable", "error", e.getMessage());
    }
  }

  static void reportReceived(byte[] body) {
    try {
      ServerToAgent m = ServerToAgent.ADAPTER.decode(body);
      Long offered =
          m.connection_settings != null && m.connection_settings.opamp != null
              ? m.connection_settings.opamp.heartbeat_interval_seconds
              : null;
      emit(
          "message",
          "instanceUid",
          uuid(m.instance_uid),
          "flags",
          m.flags,
          "capabilities",
          m.capabilities,
          "hasRemoteConfig",
          m.remote_config != null,
          "hasConnectionSettings",
          m.connection_settings != null,
          "offeredHeartbeatSeconds",
          offered,
          "errorResponse",
          m.error_response == null ? null : m.error_response.type.getValue(),
          "newInstanceUid",
          m.agent_identification == null ? null : uuid(m.agent_identification.new_instance_uid),
          "retryAfterNanos",
          m.error_response == null || m.error_response.retry_info == null
              ? null
              : m.error_response.retry_info.retry_after_nanoseconds);
    } catch (IOException e) {
      emit("message_undecodable", "error", e.getMessage());
    }
  }

  static AgentConfigMap configMap(Map<String, String> jsonBodies) {
    Map<String, AgentConfigFile> files = new TreeMap<>();
    jsonBodies.forEach(
        (k, v) ->
            files.put(
                k,
                new AgentConfigFile.Builder()
                    .body(ByteString.encodeUtf8(v))
                    .content_type("application/json")
                    .build()));
    return new AgentConfigMap.Builder().config_map(files).build();
  }

  static KeyValue stringAttr(String key, String value) {
    return new KeyValue.Builder().key(key).value(new AnyValue.Builder().string_value(value).build()).build();
  }

  static String uuid(ByteString b) {
    if (b.size() != 16) return b.hex();
    ByteBuffer bb = ByteBuffer.wrap(b.toByteArray());
    return new UUID(bb.getLong(), bb.getLong()).toString();
  }

  static void emit(String event, Object... kv) {
    StringBuilder sb = new StringBuilder("{\"event\":").append(quote(event));
    sb.append(",\"t\":").append((System.nanoTime() - T0) / 1_000_000);
    for (int i = 0; i + 1 < kv.length; i += 2) {
      sb.append(',').append(quote(String.valueOf(kv[i]))).append(':');
      Object v = kv[i + 1];
      if (v == null) sb.append("null");
      else if (v instanceof Number || v instanceof Boolean) sb.append(v);
      else sb.append(quote(v.toString()));
    }
    sb.append('}');
    synchronized (OUT) {
      System.out.println(sb);
      System.out.flush();
    }
  }

  static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
          else sb.append(c);
        }
      }
    }
    return sb.append('"').toString();
  }

  /** --name value pairs. */
  static Map<String, String> parseArgs(String[] argv) {
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      if (!argv[i].startsWith("--")) throw new IllegalArgumentException("expected --flag, got " + argv[i]);
      out.put(argv[i].substring(2), argv[i + 1]);
    }
    return out;
  }

  /** A flat JSON object of string values (the commands the tests send). */
  static Map<String, String> parseFlatJson(String line) {
    Map<String, String> out = new LinkedHashMap<>();
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(line);
    while (m.find()) out.put(m.group(1), m.group(2).replace("\\\"", "\"").replace("\\\\", "\\"));
    return out;
  }
}
