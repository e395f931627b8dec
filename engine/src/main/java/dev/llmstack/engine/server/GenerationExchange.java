package dev.llmstack.engine.server;

import dev.llmstack.engine.core.FinishReason;
import dev.llmstack.engine.core.Sequence;
import dev.llmstack.engine.core.SequenceListener;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * One generation request's trip through the engine and back to its client. The engine thread hands
 * tokens over through {@link SequenceListener} into a small buffer under this object's lock (no I/O
 * under it); one flush task on the channel's event loop turns whatever accumulated into SSE events
 * (streaming) or the final JSON. Coalescing this way costs one event-loop task per step per stream,
 * not one per token.
 */
final class GenerationExchange implements SequenceListener {

  private static final byte[] DATA = ascii("data: ");
  private static final byte[] DONE = ascii("data: [DONE]\n\n");
  private static final byte[] CHAT_NULL_FINISH =
      ascii("\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
  private static final byte[] TEXT_NULL_FINISH =
      ascii("\",\"logprobs\":null,\"finish_reason\":null}]}\n\n");

  private final ChannelHandlerContext ctx;
  private final boolean keepAlive;
  private final GenerationRequest request;
  private final ServedModel model;
  private final int promptTokens;
  private final boolean promptTokensDetails;
  private final String id;
  private final long created = System.currentTimeMillis() / 1000;
  private final String requestIdHeader;
  private final Runnable onTokenTap;
  private final Runnable onDone;
  private final String echoText;

  // Shared between the engine thread and the event loop, guarded by this.
  private int[] pendingIds = new int[16];
  private String[] pendingTexts = new String[16];
  private int pendingCount;
  private boolean flushScheduled;
  private FinishReason finishReason;
  private Sequence finishedSeq;

  // Event-loop only.
  private int[] drainIds = new int[16];
  private String[] drainTexts = new String[16];
  private boolean headerSent;
  private boolean completed;
  private StringBuilder text;
  private byte[] chunkPrefix;
  private final byte[] nullFinish;
  private Sequence seq;
  private final byte[] quotedModel;

  GenerationExchange(
      ChannelHandlerContext ctx,
      boolean keepAlive,
      GenerationRequest request,
      ServedModel model,
      int promptTokens,
      boolean promptTokensDetails,
      String requestIdHeader,
      String echoText,
      String loraName,
      Runnable onTokenTap,
      Runnable onDone) {
    this.ctx = ctx;
    // vLLM names the adapter, not the base model, in the responses of a LoRA request.
    this.quotedModel = loraName == null ? model.quotedName() : ServedModel.jsonString(loraName);
    this.keepAlive = keepAlive;
    this.request = request;
    this.model = model;
    this.promptTokens = promptTokens;
    this.promptTokensDetails = promptTokensDetails;
    this.requestIdHeader = requestIdHeader;
    this.echoText = echoText;
    this.onTokenTap = onTokenTap;
    this.onDone = onDone;
    this.nullFinish = request.chat() ? CHAT_NULL_FINISH : TEXT_NULL_FINISH;
    String uuid = UUID.randomUUID().toString().replace("-", "");
    this.id = (request.chat() ? "chatcmpl-" : "cmpl-") + uuid;
    if (!request.stream()) {
      text = new StringBuilder(echoText == null ? "" : echoText);
    }
  }

  String id() {
    return id;
  }

  void attach(Sequence seq) {
    this.seq = seq;
  }

  Sequence sequence() {
    return seq;
  }

  boolean completed() {
    return completed;
  }

  // ---- engine thread ----

  @Override
  public void onToken(Sequence s, int tokenId, String tokenText, long nanos) {
    onTokenTap.run();
    synchronized (this) {
      if (pendingCount == pendingIds.length) {
        pendingIds = java.util.Arrays.copyOf(pendingIds, pendingCount * 2);
        pendingTexts = java.util.Arrays.copyOf(pendingTexts, pendingCount * 2);
      }
      pendingIds[pendingCount] = tokenId;
      pendingTexts[pendingCount++] = tokenText;
      if (s.finishReason() != null) {
        finishReason = s.finishReason(); // the last token: its chunk carries finish_reason
        finishedSeq = s;
      }
      scheduleFlushLocked();
    }
  }

  @Override
  public void onFinish(Sequence s, FinishReason reason, long nanos) {
    synchronized (this) {
      finishReason = reason;
      finishedSeq = s;
      scheduleFlushLocked();
    }
  }

  private void scheduleFlushLocked() {
    if (!flushScheduled) {
      flushScheduled = true;
      ctx.executor().execute(this::flush);
    }
  }

  // ---- event loop ----

  private void flush() {
    int n;
    FinishReason reason;
    Sequence done;
    synchronized (this) {
      flushScheduled = false;
      n = pendingCount;
      if (drainIds.length < n) {
        drainIds = new int[pendingIds.length];
        drainTexts = new String[pendingIds.length];
      }
      int[] ids = pendingIds;
      String[] texts = pendingTexts;
      pendingIds = drainIds;
      pendingTexts = drainTexts;
      drainIds = ids;
      drainTexts = texts;
      pendingCount = 0;
      reason = finishReason;
      done = finishedSeq;
    }
    if (completed) {
      return;
    }
    if (!ctx.channel().isActive()) {
      if (reason != null) {
        complete();
      }
      return;
    }
    if (request.stream()) {
      writeStream(n, reason, done);
    } else {
      for (int i = 0; i < n; i++) {
        text.append(drainTexts[i]);
        drainTexts[i] = null;
      }
      if (reason != null) {
        writeFull(reason, done);
      }
    }
  }

  private void writeStream(int n, FinishReason reason, Sequence done) {
    ByteBuf buf = ctx.alloc().buffer(64 + n * 160);
    if (!headerSent) {
      headerSent = true;
      HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
      head.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
          .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED)
          .set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
      if (requestIdHeader != null) {
        head.headers().set("X-Request-Id", requestIdHeader);
      }
      if (!keepAlive) {
        head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
      ctx.write(head);
      chunkPrefix = chunkPrefix();
      if (request.chat()) {
        buf.writeBytes(DATA).writeBytes(envelope());
        buf.writeBytes(
            ascii(
                "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                    + "\"logprobs\":null,\"finish_reason\":null}]}\n\n"));
      } else if (echoText != null && !echoText.isEmpty()) {
        buf.writeBytes(chunkPrefix).writeBytes(ServedModel.escape(echoText)).writeBytes(nullFinish);
      }
    }
    for (int i = 0; i < n; i++) {
      boolean last = reason != null && i == n - 1;
      String t = drainTexts[i];
      drainTexts[i] = null;
      if (last) {
        writeFinalChunk(buf, t, reason, done);
      } else if (!t.isEmpty()) {
        buf.writeBytes(chunkPrefix).writeBytes(model.escapedToken(drainIds[i], t));
        buf.writeBytes(nullFinish);
      }
    }
    if (reason != null) {
      if (n == 0) {
        writeFinalChunk(buf, "", reason, done);
      }
      if (request.includeUsage()) {
        buf.writeBytes(DATA).writeBytes(envelope());
        buf.writeBytes(ascii("\"choices\":[],\"usage\":"));
        buf.writeBytes(ascii(usageJson(done, true)));
        buf.writeBytes(ascii("}\n\n"));
      }
      buf.writeBytes(DONE);
      ctx.write(new DefaultHttpContent(buf));
      ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(closeIfNeeded());
      complete();
    } else if (buf.isReadable()) {
      ctx.writeAndFlush(new DefaultHttpContent(buf));
    } else {
      buf.release();
    }
  }

  private void writeFinalChunk(ByteBuf buf, String t, FinishReason reason, Sequence done) {
    buf.writeBytes(chunkPrefix).writeBytes(ServedModel.escape(t));
    buf.writeBytes(
        ascii(
            (request.chat() ? "\"}," : "\",")
                + "\"logprobs\":null,\"finish_reason\":\""
                + reason.wire()
                + "\",\"stop_reason\":"
                + stopReasonJson(done)
                + "}]}\n\n"));
  }

  private void writeFull(FinishReason reason, Sequence done) {
    StringBuilder sb = new StringBuilder(256 + text.length());
    String content = new String(ServedModel.jsonString(text.toString()), StandardCharsets.UTF_8);
    sb.append("{\"id\":\"").append(id).append("\",\"object\":\"");
    sb.append(request.chat() ? "chat.completion" : "text_completion");
    sb.append("\",\"created\":").append(created).append(",\"model\":");
    sb.append(new String(quotedModel, StandardCharsets.UTF_8));
    sb.append(",\"choices\":[{\"index\":0,");
    if (request.chat()) {
      sb.append("\"message\":{\"role\":\"assistant\",\"content\":").append(content);
      sb.append(
          ",\"refusal\":null,\"annotations\":null,\"audio\":null,\"function_call\":null,"
              + "\"reasoning\":null},\"logprobs\":null,");
    } else {
      sb.append("\"text\":").append(content).append(",\"logprobs\":null,");
    }
    sb.append("\"finish_reason\":\"").append(reason.wire()).append("\",\"stop_reason\":");
    sb.append(stopReasonJson(done));
    if (request.chat()) {
      sb.append(",\"token_ids\":null}],");
    } else {
      sb.append(",\"prompt_logprobs\":null,\"token_ids\":null,\"prompt_token_ids\":null}],");
    }
    sb.append("\"service_tier\":null,\"system_fingerprint\":null,\"usage\":");
    sb.append(usageJson(done, false));
    if (request.chat()) {
      sb.append(",\"prompt_logprobs\":null,\"prompt_token_ids\":null");
    }
    sb.append(",\"kv_transfer_params\":null}");
    byte[] body = sb.toString().getBytes(StandardCharsets.UTF_8);
    DefaultFullHttpResponse resp =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.OK, ctx.alloc().buffer(body.length));
    resp.content().writeBytes(body);
    resp.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    if (requestIdHeader != null) {
      resp.headers().set("X-Request-Id", requestIdHeader);
    }
    if (!keepAlive) {
      resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    ctx.writeAndFlush(resp).addListener(closeIfNeeded());
    complete();
  }

  private void complete() {
    completed = true;
    onDone.run();
  }

  private ChannelFutureListener closeIfNeeded() {
    return keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE;
  }

  private String usageJson(Sequence done, boolean streamChunk) {
    int completion = done == null ? 0 : done.numOutputTokens();
    int cached = done == null ? 0 : Math.max(0, done.numCachedTokens());
    StringBuilder sb = new StringBuilder(128);
    sb.append("{\"prompt_tokens\":").append(promptTokens);
    if (streamChunk) {
      sb.append(",\"completion_tokens\":").append(completion);
      sb.append(",\"total_tokens\":").append(promptTokens + completion);
    } else {
      sb.append(",\"total_tokens\":").append(promptTokens + completion);
      sb.append(",\"completion_tokens\":").append(completion);
    }
    if (promptTokensDetails) {
      sb.append(",\"prompt_tokens_details\":{\"cached_tokens\":").append(cached).append('}');
    } else if (!streamChunk) {
      sb.append(",\"prompt_tokens_details\":null");
    }
    return sb.append('}').toString();
  }

  private static String stopReasonJson(Sequence done) {
    if (done == null || done.stopReason() == null) {
      return "null";
    }
    return new String(ServedModel.jsonString(done.stopReason()), StandardCharsets.UTF_8);
  }

  /** {@code {"id":..,"object":..,"created":..,"model":..,} } with the trailing comma. */
  private byte[] envelope() {
    String object = request.chat() ? "chat.completion.chunk" : "text_completion";
    return ascii(
        "{\"id\":\""
            + id
            + "\",\"object\":\""
            + object
            + "\",\"created\":"
            + created
            + ",\"model\":"
            + new String(quotedModel, StandardCharsets.UTF_8)
            + ",");
  }

  /** Everything of a content chunk before the escaped token text. */
  private byte[] chunkPrefix() {
    String open =
        request.chat()
            ? "\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
            : "\"choices\":[{\"index\":0,\"text\":\"";
    byte[] env = envelope();
    byte[] o = ascii(open);
    byte[] out = new byte[DATA.length + env.length + o.length];
    System.arraycopy(DATA, 0, out, 0, DATA.length);
    System.arraycopy(env, 0, out, DATA.length, env.length);
    System.arraycopy(o, 0, out, DATA.length + env.length, o.length);
    return out;
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
