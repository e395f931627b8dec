package dev.llmstack.engine.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstack.engine.core.Sequence;
import dev.llmstack.protocol.openai.OpenAiError;
import dev.llmstack.protocol.openai.OpenAiException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.RejectedExecutionException;

/** Routes one HTTP connection's requests to vLLM's endpoints. */
final class EngineHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] NOT_FOUND =
      "{\"detail\":\"Not Found\"}".getBytes(StandardCharsets.UTF_8);
  private static final byte[] NOT_ALLOWED =
      "{\"detail\":\"Method Not Allowed\"}".getBytes(StandardCharsets.UTF_8);

  private final EngineServer server;

  EngineHttpHandler(EngineServer server) {
    this.server = server;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    if (!req.decoderResult().isSuccess()) {
      Throwable cause = req.decoderResult().cause();
      if (cause instanceof TooLongFrameException) {
        sendError(ctx, false, new OpenAiError(413, "BadRequestError", cause.getMessage(), null));
      } else {
        sendError(ctx, false, OpenAiError.badRequest("Malformed HTTP request."));
      }
      return;
    }
    String uri = req.uri();
    int q = uri.indexOf('?');
    String path = q < 0 ? uri : uri.substring(0, q);
    HttpMethod m = req.method();
    try {
      switch (path) {
        case "/health", "/ping" -> {
          if (m != HttpMethod.GET && !(path.equals("/ping") && m == HttpMethod.POST)) {
            send(ctx, keepAlive, HttpResponseStatus.METHOD_NOT_ALLOWED, NOT_ALLOWED);
          } else if (server.crashed()) {
            send(ctx, false, HttpResponseStatus.SERVICE_UNAVAILABLE, new byte[0]);
          } else {
            send(ctx, keepAlive, HttpResponseStatus.OK, new byte[0]);
          }
        }
        case "/version" -> {
          if (requireGet(ctx, keepAlive, m)) {
            sendJson(ctx, keepAlive, "{\"version\":\"" + EngineServer.VLLM_VERSION + "\"}");
          }
        }
        case "/v1/models" -> {
          if (requireGet(ctx, keepAlive, m)) {
            sendJson(ctx, keepAlive, models());
          }
        }
        case "/load" -> {
          if (requireGet(ctx, keepAlive, m)) {
            sendJson(ctx, keepAlive, "{\"server_load\":" + server.inFlight().get() + "}");
          }
        }
        case "/metrics" -> {
          if (requireGet(ctx, keepAlive, m)) {
            metrics(ctx, keepAlive);
          }
        }
        case "/tokenize", "/v1/tokenize" -> {
          if (requirePost(ctx, keepAlive, m)) {
            JsonNode body = parse(req); // now: the request is released when this method returns
            offload(ctx, keepAlive, () -> tokenize(body));
          }
        }
        case "/detokenize", "/v1/detokenize" -> {
          if (requirePost(ctx, keepAlive, m)) {
            JsonNode body = parse(req);
            offload(ctx, keepAlive, () -> detokenize(body));
          }
        }
        case "/v1/chat/completions", "/v1/completions" -> {
          if (requirePost(ctx, keepAlive, m)) {
            generate(ctx, keepAlive, req, path.equals("/v1/chat/completions"));
          }
        }
        case "/reset_prefix_cache" -> {
          if (requirePost(ctx, keepAlive, m)) {
            boolean done =
                server.driver().call(core -> core.resetPrefixCache(server.driver().now())).join();
            if (done) {
              send(ctx, keepAlive, HttpResponseStatus.OK, new byte[0]);
            } else {
              sendError(
                  ctx,
                  keepAlive,
                  OpenAiError.badRequest("Cannot reset the prefix cache while requests run."));
            }
          }
        }
        case "/v1/load_lora_adapter", "/v1/unload_lora_adapter" -> {
          if (requirePost(ctx, keepAlive, m)) {
            loraAdapter(ctx, keepAlive, req, path.equals("/v1/load_lora_adapter"));
          }
        }
        case "/admin/faults" -> faults(ctx, keepAlive, m, req);
        default -> send(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, NOT_FOUND);
      }
    } catch (OpenAiException e) {
      sendError(ctx, keepAlive, e.error());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      sendError(ctx, false, OpenAiError.internal("interrupted"));
    }
  }

  // ---- generation ----

  private void generate(
      ChannelHandlerContext ctx, boolean keepAlive, FullHttpRequest req, boolean chat) {
    if (server.faults().injectError()) {
      sendError(ctx, keepAlive, OpenAiError.internal("Injected fault: internal server error."));
      return;
    }
    String headerId = req.headers().get("X-Request-Id");
    GenerationRequest gr = GenerationRequestParser.parse(parse(req), chat, headerId);
    String lora = server.model().loraFor(gr.model());
    server.inFlight().incrementAndGet();
    try {
      server
          .tokenizerPool()
          .execute(
              () -> {
                try {
                  startGeneration(ctx, keepAlive, gr, headerId, lora);
                } catch (OpenAiException e) {
                  done();
                  ctx.executor().execute(() -> sendError(ctx, keepAlive, e.error()));
                } catch (RuntimeException e) {
                  done();
                  ctx.executor()
                      .execute(() -> sendError(ctx, keepAlive, OpenAiError.internal(e.toString())));
                }
              });
    } catch (RejectedExecutionException e) {
      done();
      sendError(ctx, false, OpenAiError.unavailable("The engine is shutting down."));
    }
  }

  private void done() {
    server.inFlight().decrementAndGet();
  }

  /** Runs on a tokenizer thread: tokenize, check lengths, hand the sequence to the engine. */
  private void startGeneration(
      ChannelHandlerContext ctx,
      boolean keepAlive,
      GenerationRequest gr,
      String headerId,
      String lora) {
    ServedModel model = server.model();
    PromptTokenizer tok = model.tokenizer();
    int[] prompt;
    if (gr.chat()) {
      prompt =
          tok.encodeChat(
              gr.messages(),
              gr.addGenerationPrompt(),
              gr.continueFinalMessage(),
              gr.templateKwargs());
    } else if (gr.promptTokenIds() != null) {
      prompt = gr.promptTokenIds();
    } else {
      prompt = tok.encodePrompt(gr.prompt(), gr.addSpecialTokens());
    }
    int max = model.maxModelLen();
    if (prompt.length == 0) {
      throw GenerationRequestParser.bad("Prompt cannot be empty.", "prompt");
    }
    if (prompt.length >= max) {
      throw GenerationRequestParser.bad(
          "This model's maximum context length is "
              + max
              + " tokens. However, your request has "
              + prompt.length
              + " input tokens. Please reduce the length of the input "
              + (gr.chat() ? "messages." : "prompt."),
          "input_tokens");
    }
    int maxTokens;
    if (gr.maxTokens() == null) {
      maxTokens = max - prompt.length;
    } else {
      maxTokens = gr.maxTokens();
      if ((long) prompt.length + maxTokens > max) {
        throw GenerationRequestParser.bad(
            "'max_tokens' or 'max_completion_tokens' is too large: "
                + maxTokens
                + ". This model's maximum context length is "
                + max
                + " tokens and your request has "
                + prompt.length
                + " input tokens ("
                + maxTokens
                + " > "
                + max
                + " - "
                + prompt.length
                + ").",
            "max_tokens");
      }
    }
    String echo = null;
    if (gr.echo() && !gr.chat()) {
      echo = gr.prompt() != null ? gr.prompt() : tok.decode(prompt);
    }
    GenerationExchange ex =
        new GenerationExchange(
            ctx,
            keepAlive,
            gr,
            model,
            prompt.length,
            server.options().promptTokensDetails(),
            headerId,
            echo,
            lora,
            server::onTokenGenerated,
            this::done);
    String requestId = gr.requestId() != null ? gr.requestId() : ex.id();
    Sequence seq =
        new Sequence(
            requestId,
            prompt,
            gr.sampling(maxTokens),
            lora,
            gr.cacheSalt(),
            server.driver().now(),
            ex);
    ex.attach(seq);
    ctx.executor()
        .execute(
            () -> {
              if (!ctx.channel().isActive()) {
                done();
                return;
              }
              // A client that goes away frees its blocks at once.
              ctx.channel()
                  .closeFuture()
                  .addListener(
                      f -> {
                        if (!ex.completed()) {
                          server.driver().abort(seq);
                        }
                      });
              server.driver().submit(seq);
            });
  }

  // ---- other endpoints ----

  private String models() {
    ServedModel model = server.model();
    ObjectNode root = JSON.createObjectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    card(data, model.name(), model.name(), null, model.maxModelLen(), model.created());
    // vLLM lists each LoRA adapter as a card of its own: root is its path, parent the base model.
    model.adapters().entrySet().stream()
        .sorted(java.util.Map.Entry.comparingByKey())
        .forEach(a -> card(data, a.getKey(), a.getValue(), model.name(), null, model.created()));
    return root.toString();
  }

  private static void card(
      ArrayNode data, String id, String root, String parent, Integer maxModelLen, long created) {
    ObjectNode card = data.addObject();
    card.put("id", id);
    card.put("object", "model");
    card.put("created", created);
    card.put("owned_by", "vllm");
    card.put("root", root);
    card.put("parent", parent);
    card.put("max_model_len", maxModelLen);
    ObjectNode perm = card.putArray("permission").addObject();
    perm.put("id", "modelperm-" + UUID.nameUUIDFromBytes(id.getBytes()).toString());
    perm.put("object", "model_permission");
    perm.put("created", created);
    perm.put("allow_create_engine", false);
    perm.put("allow_sampling", true);
    perm.put("allow_logprobs", true);
    perm.put("allow_search_indices", false);
    perm.put("allow_view", true);
    perm.put("allow_fine_tuning", false);
    perm.put("organization", "*");
    perm.putNull("group");
    perm.put("is_blocking", false);
  }

  /**
   * vLLM's /v1/load_lora_adapter and /v1/unload_lora_adapter (with
   * VLLM_ALLOW_RUNTIME_LORA_UPDATING=True): a plain-text "Success: ..." on 200, OpenAI errors
   * otherwise. The simulator reads no weights; the path is only shown in /v1/models.
   */
  private void loraAdapter(
      ChannelHandlerContext ctx, boolean keepAlive, FullHttpRequest req, boolean load) {
    ServedModel model = server.model();
    if (!model.runtimeLoraUpdating()) {
      send(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, NOT_FOUND);
      return;
    }
    JsonNode body = parse(req);
    String name = body == null ? null : GenerationRequestParser.optString(body, "lora_name");
    String path = body == null ? null : GenerationRequestParser.optString(body, "lora_path");
    if (name == null || name.isEmpty() || (load && (path == null || path.isEmpty()))) {
      throw new OpenAiException(
          OpenAiError.badRequest(
              load
                  ? "Both 'lora_name' and 'lora_path' must be provided."
                  : "'lora_name' needs to be provided to unload a LoRA adapter."));
    }
    if (load && !model.loadAdapter(name, path)) {
      throw new OpenAiException(
          OpenAiError.badRequest("The lora adapter '" + name + "' has already been loaded."));
    }
    if (!load && !model.unloadAdapter(name)) {
      throw new OpenAiException(
          new OpenAiError(
              404, "NotFoundError", "The lora adapter '" + name + "' cannot be found.", null));
    }
    String text =
        load
            ? "Success: LoRA adapter '" + name + "' added successfully."
            : "Success: LoRA adapter '" + name + "' removed successfully.";
    send(
        ctx,
        keepAlive,
        HttpResponseStatus.OK,
        text.getBytes(StandardCharsets.UTF_8),
        HttpHeaderValues.TEXT_PLAIN);
  }

  private String tokenize(JsonNode body) {
    if (body == null || !body.isObject()) {
      throw GenerationRequestParser.bad("The request body must be a JSON object.", null);
    }
    checkModel(body);
    ServedModel model = server.model();
    int[] ids;
    if (body.has("messages")) {
      boolean addGen = GenerationRequestParser.optBool(body, "add_generation_prompt", true);
      boolean cont = GenerationRequestParser.optBool(body, "continue_final_message", false);
      ids =
          model
              .tokenizer()
              .encodeChat(
                  GenerationRequestParser.messages(body),
                  addGen && !cont,
                  cont,
                  java.util.Map.of());
    } else {
      String prompt = GenerationRequestParser.optString(body, "prompt");
      if (prompt == null) {
        throw GenerationRequestParser.bad("Field required: prompt or messages", "prompt");
      }
      boolean special = GenerationRequestParser.optBool(body, "add_special_tokens", true);
      ids = model.tokenizer().encodePrompt(prompt, special);
    }
    ObjectNode out = JSON.createObjectNode();
    out.put("count", ids.length);
    out.put("max_model_len", model.maxModelLen());
    ArrayNode tokens = out.putArray("tokens");
    for (int id : ids) {
      tokens.add(id);
    }
    out.putNull("token_strs");
    return out.toString();
  }

  private String detokenize(JsonNode body) {
    if (body == null || !body.isObject()) {
      throw GenerationRequestParser.bad("The request body must be a JSON object.", null);
    }
    checkModel(body);
    JsonNode tokens = body.get("tokens");
    if (tokens == null || !tokens.isArray()) {
      throw GenerationRequestParser.bad("tokens must be a list of token ids.", "tokens");
    }
    List<Integer> ids = new ArrayList<>();
    for (JsonNode t : tokens) {
      if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0) {
        throw GenerationRequestParser.bad("Token ids must be non-negative integers.", "tokens");
      }
      ids.add(t.asInt());
    }
    String text =
        server.model().tokenizer().decode(ids.stream().mapToInt(Integer::intValue).toArray());
    ObjectNode out = JSON.createObjectNode();
    out.put("prompt", text);
    return out.toString();
  }

  private void checkModel(JsonNode body) {
    server.model().loraFor(GenerationRequestParser.optString(body, "model"));
  }

  private void metrics(ChannelHandlerContext ctx, boolean keepAlive) {
    ByteBuf buf = ctx.alloc().buffer(16 * 1024);
    try (ByteBufOutputStream out = new ByteBufOutputStream(buf)) {
      server.metrics().writeTo(out);
    } catch (IOException e) {
      buf.release();
      sendError(ctx, keepAlive, OpenAiError.internal("metrics: " + e.getMessage()));
      return;
    }
    FullHttpResponse resp =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, buf);
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, server.metrics().contentType());
    finish(ctx, keepAlive, resp);
  }

  private void faults(
      ChannelHandlerContext ctx, boolean keepAlive, HttpMethod m, FullHttpRequest req)
      throws InterruptedException {
    if (m == HttpMethod.POST) {
      server.applyFaults(Faults.Settings.fromJson(parse(req)));
    } else if (m == HttpMethod.DELETE) {
      server.applyFaults(new Faults.Settings(-1L, false, 1.0, 0.0, false));
    } else if (m != HttpMethod.GET) {
      send(ctx, keepAlive, HttpResponseStatus.METHOD_NOT_ALLOWED, NOT_ALLOWED);
      return;
    }
    sendJson(
        ctx,
        keepAlive,
        server
            .faults()
            .toJson(server.driver().isHung(), server.driver().slowdown(), server.refusing())
            .toString());
  }

  // ---- plumbing ----

  /** Runs CPU work (tokenization) off the event loop and writes its JSON result back on it. */
  private void offload(ChannelHandlerContext ctx, boolean keepAlive, JsonWork work) {
    server
        .tokenizerPool()
        .execute(
            () -> {
              String body;
              try {
                body = work.run();
              } catch (OpenAiException e) {
                ctx.executor().execute(() -> sendError(ctx, keepAlive, e.error()));
                return;
              } catch (RuntimeException e) {
                ctx.executor()
                    .execute(() -> sendError(ctx, keepAlive, OpenAiError.internal(e.toString())));
                return;
              }
              ctx.executor().execute(() -> sendJson(ctx, keepAlive, body));
            });
  }

  @FunctionalInterface
  private interface JsonWork {
    String run();
  }

  private static JsonNode parse(FullHttpRequest req) {
    if (!req.content().isReadable()) {
      throw GenerationRequestParser.bad(
          "The request body is empty; a JSON object is required.", null);
    }
    try (ByteBufInputStream in = new ByteBufInputStream(req.content().duplicate())) {
      return JSON.readTree((java.io.InputStream) in);
    } catch (JsonProcessingException e) {
      throw GenerationRequestParser.bad("JSON decode error: " + e.getOriginalMessage(), null);
    } catch (IOException e) {
      throw GenerationRequestParser.bad("Could not read the request body.", null);
    }
  }

  private boolean requireGet(ChannelHandlerContext ctx, boolean keepAlive, HttpMethod m) {
    if (m == HttpMethod.GET) {
      return true;
    }
    send(ctx, keepAlive, HttpResponseStatus.METHOD_NOT_ALLOWED, NOT_ALLOWED);
    return false;
  }

  private boolean requirePost(ChannelHandlerContext ctx, boolean keepAlive, HttpMethod m) {
    if (m == HttpMethod.POST) {
      return true;
    }
    send(ctx, keepAlive, HttpResponseStatus.METHOD_NOT_ALLOWED, NOT_ALLOWED);
    return false;
  }

  static void sendError(ChannelHandlerContext ctx, boolean keepAlive, OpenAiError error) {
    FullHttpResponse resp =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(error.status()),
            Unpooled.wrappedBuffer(error.toJson()));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    finish(ctx, keepAlive, resp);
  }

  private static void sendJson(ChannelHandlerContext ctx, boolean keepAlive, String json) {
    FullHttpResponse resp =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.OK,
            Unpooled.wrappedBuffer(json.getBytes(StandardCharsets.UTF_8)));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    finish(ctx, keepAlive, resp);
  }

  private static void send(
      ChannelHandlerContext ctx, boolean keepAlive, HttpResponseStatus status, byte[] body) {
    send(ctx, keepAlive, status, body, HttpHeaderValues.APPLICATION_JSON);
  }

  private static void send(
      ChannelHandlerContext ctx,
      boolean keepAlive,
      HttpResponseStatus status,
      byte[] body,
      CharSequence contentType) {
    FullHttpResponse resp =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
    if (body.length > 0) {
      resp.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
    }
    finish(ctx, keepAlive, resp);
  }

  private static void finish(ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse resp) {
    resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, resp.content().readableBytes());
    if (!keepAlive) {
      resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.writeAndFlush(resp);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
