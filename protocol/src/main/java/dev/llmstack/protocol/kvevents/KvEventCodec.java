package dev.llmstack.protocol.kvevents;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueType;

/**
 * vLLM's KV-event payload (vllm/distributed/kv_events.py, encoded by msgspec): a batch {@code [ts,
 * [events], data_parallel_rank?]} of tagged events. Two layouts exist: positional arrays with the
 * class name first (msgspec {@code array_like=True}, released vLLM) and maps with a {@code "type"}
 * tag (newest vLLM). Hashes are 64-bit integers (the default {@code
 * VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=1}) or raw bytes. The decoder accepts every combination,
 * trailing fields it does not know (newer versions append them), and unknown event types (skipped).
 */
public final class KvEventCodec {

  /** msgpack layout of structs. */
  public enum Encoding {
    ARRAY,
    MAP
  }

  /** How block hashes travel. */
  public enum HashForm {
    INT64,
    BYTES
  }

  private KvEventCodec() {}

  public static byte[] encode(KvEvent.Batch batch, Encoding encoding, HashForm hashes) {
    try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
      boolean rank = batch.dataParallelRank() != null && batch.dataParallelRank() != 0;
      if (encoding == Encoding.ARRAY) {
        p.packArrayHeader(rank ? 3 : 2);
        p.packDouble(batch.timestamp());
      } else {
        p.packMapHeader(rank ? 3 : 2);
        p.packString("ts").packDouble(batch.timestamp());
        p.packString("events");
      }
      p.packArrayHeader(batch.events().size());
      for (KvEvent e : batch.events()) {
        encodeEvent(p, e, encoding, hashes);
      }
      if (rank) {
        if (encoding == Encoding.MAP) {
          p.packString("data_parallel_rank");
        }
        p.packInt(batch.dataParallelRank());
      }
      return p.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void encodeEvent(MessageBufferPacker p, KvEvent e, Encoding enc, HashForm hf)
      throws IOException {
    switch (e) {
      case KvEvent.BlockStored s -> {
        boolean extra = s.extraKeys() != null;
        boolean loraName = s.loraName() != null || extra;
        if (enc == Encoding.ARRAY) {
          // Positional: lora_name must be present (nil) when extra_keys follows it.
          p.packArrayHeader(extra ? 9 : loraName ? 8 : 7).packString("BlockStored");
          hashes(p, s.blockHashes(), hf);
          nullableHash(p, s.parentBlockHash(), hf);
          tokens(p, s.tokenIds());
          p.packInt(s.blockSize());
          nullableInt(p, s.loraId());
          nullableString(p, s.medium());
          if (loraName) {
            nullableString(p, s.loraName());
          }
          if (extra) {
            extraKeys(p, s.extraKeys());
          }
        } else {
          p.packMapHeader(7 + (s.loraName() != null ? 1 : 0) + (extra ? 1 : 0));
          p.packString("type").packString("BlockStored");
          p.packString("block_hashes");
          hashes(p, s.blockHashes(), hf);
          p.packString("parent_block_hash");
          nullableHash(p, s.parentBlockHash(), hf);
          p.packString("token_ids");
          tokens(p, s.tokenIds());
          p.packString("block_size").packInt(s.blockSize());
          p.packString("lora_id");
          nullableInt(p, s.loraId());
          p.packString("medium");
          nullableString(p, s.medium());
          if (s.loraName() != null) {
            p.packString("lora_name").packString(s.loraName());
          }
          if (extra) {
            p.packString("extra_keys");
            extraKeys(p, s.extraKeys());
          }
        }
      }
      case KvEvent.BlockRemoved r -> {
        if (enc == Encoding.ARRAY) {
          p.packArrayHeader(3).packString("BlockRemoved");
          hashes(p, r.blockHashes(), hf);
          nullableString(p, r.medium());
        } else {
          p.packMapHeader(3).packString("type").packString("BlockRemoved");
          p.packString("block_hashes");
          hashes(p, r.blockHashes(), hf);
          p.packString("medium");
          nullableString(p, r.medium());
        }
      }
      case KvEvent.AllBlocksCleared c -> {
        if (enc == Encoding.ARRAY) {
          p.packArrayHeader(1).packString("AllBlocksCleared");
        } else {
          p.packMapHeader(1).packString("type").packString("AllBlocksCleared");
        }
      }
    }
  }

  private static void hashes(MessageBufferPacker p, long[] h, HashForm hf) throws IOException {
    p.packArrayHeader(h.length);
    for (long x : h) {
      hash(p, x, hf);
    }
  }

  private static void hash(MessageBufferPacker p, long x, HashForm hf) throws IOException {
    if (hf == HashForm.INT64) {
      if (x >= 0) {
        p.packLong(x);
      } else {
        // The top bit is set: as an unsigned 64-bit value this needs msgpack's uint64 (0xcf).
        byte[] b = new byte[9];
        b[0] = (byte) 0xcf;
        for (int i = 0; i < 8; i++) {
          b[8 - i] = (byte) (x >>> (8 * i));
        }
        p.writePayload(b);
      }
    } else {
      // A 32-byte digest whose low 64 bits (big-endian) are our key, as vLLM's int form would read
      // it.
      byte[] b = new byte[32];
      for (int i = 0; i < 8; i++) {
        b[31 - i] = (byte) (x >>> (8 * i));
      }
      p.packBinaryHeader(32).writePayload(b);
    }
  }

  private static void nullableHash(MessageBufferPacker p, Long x, HashForm hf) throws IOException {
    if (x == null) {
      p.packNil();
    } else {
      hash(p, x, hf);
    }
  }

  private static void extraKeys(MessageBufferPacker p, List<List<Object>> perBlock)
      throws IOException {
    p.packArrayHeader(perBlock.size());
    for (List<Object> keys : perBlock) {
      value(p, keys);
    }
  }

  /** One msgpack value of an extra-keys tuple (the types {@link #value(MessageUnpacker)} reads). */
  private static void value(MessageBufferPacker p, Object v) throws IOException {
    switch (v) {
      case null -> p.packNil();
      case String s -> p.packString(s);
      case Long l -> p.packLong(l);
      case Integer i -> p.packInt(i);
      case Double d -> p.packDouble(d);
      case Boolean b -> p.packBoolean(b);
      case byte[] b -> p.packBinaryHeader(b.length).writePayload(b);
      case List<?> l -> {
        p.packArrayHeader(l.size());
        for (Object x : l) {
          value(p, x);
        }
      }
      default -> throw new IllegalArgumentException("extra key of type " + v.getClass());
    }
  }

  private static void tokens(MessageBufferPacker p, int[] t) throws IOException {
    p.packArrayHeader(t.length);
    for (int x : t) {
      p.packInt(x);
    }
  }

  private static void nullableInt(MessageBufferPacker p, Integer x) throws IOException {
    if (x == null) {
      p.packNil();
    } else {
      p.packInt(x);
    }
  }

  private static void nullableString(MessageBufferPacker p, String x) throws IOException {
    if (x == null) {
      p.packNil();
    } else {
      p.packString(x);
    }
  }

  // ---- decoding ----

  /** Decodes a batch in either layout. */
  public static KvEvent.Batch decode(byte[] payload) {
    try (MessageUnpacker u = MessagePack.newDefaultUnpacker(payload)) {
      MessageFormat f = u.getNextFormat();
      double ts = 0;
      List<KvEvent> events = new ArrayList<>();
      Integer rank = null;
      if (f.getValueType() == ValueType.ARRAY) {
        int n = u.unpackArrayHeader();
        if (n < 2) {
          throw new IllegalArgumentException("KV event batch has " + n + " fields");
        }
        ts = number(u);
        readEvents(u, events);
        if (n > 2) {
          rank = nullableIntValue(u);
        }
        for (int i = 3; i < n; i++) {
          u.skipValue();
        }
      } else if (f.getValueType() == ValueType.MAP) {
        int n = u.unpackMapHeader();
        for (int i = 0; i < n; i++) {
          String k = u.unpackString();
          switch (k) {
            case "ts" -> ts = number(u);
            case "events" -> readEvents(u, events);
            case "data_parallel_rank" -> rank = nullableIntValue(u);
            default -> u.skipValue();
          }
        }
      } else {
        throw new IllegalArgumentException("KV event batch is neither an array nor a map");
      }
      return new KvEvent.Batch(ts, events, rank);
    } catch (IOException e) {
      throw new IllegalArgumentException("malformed KV event batch: " + e.getMessage(), e);
    }
  }

  private static void readEvents(MessageUnpacker u, List<KvEvent> out) throws IOException {
    int n = u.unpackArrayHeader();
    for (int i = 0; i < n; i++) {
      KvEvent e = readEvent(u);
      if (e != null) {
        out.add(e);
      }
    }
  }

  private static KvEvent readEvent(MessageUnpacker u) throws IOException {
    MessageFormat f = u.getNextFormat();
    if (f.getValueType() == ValueType.ARRAY) {
      int n = u.unpackArrayHeader();
      if (n == 0) {
        return null;
      }
      String tag = u.unpackString();
      KvEvent e;
      int read = 1;
      switch (tag) {
        case "BlockStored" -> {
          long[] hashes = hashList(u);
          Long parent = nullableHashValue(u);
          int[] tokens = intList(u);
          int blockSize = u.unpackInt();
          Integer loraId = n > 5 ? nullableIntValue(u) : null;
          String medium = n > 6 ? nullableStringValue(u) : null;
          String loraName = n > 7 ? nullableStringValue(u) : null;
          List<List<Object>> extra = n > 8 ? extraKeysValue(u) : null;
          read = Math.min(n, 9);
          e =
              new KvEvent.BlockStored(
                  hashes, parent, tokens, blockSize, loraId, medium, loraName, extra);
        }
        case "BlockRemoved" -> {
          long[] hashes = hashList(u);
          String medium = n > 2 ? nullableStringValue(u) : null;
          read = Math.min(n, 3);
          e = new KvEvent.BlockRemoved(hashes, medium);
        }
        case "AllBlocksCleared" -> e = new KvEvent.AllBlocksCleared();
        default -> e = null;
      }
      for (int i = read; i < n; i++) {
        u.skipValue();
      }
      return e;
    }
    if (f.getValueType() == ValueType.MAP) {
      int n = u.unpackMapHeader();
      String type = null;
      long[] hashes = new long[0];
      Long parent = null;
      int[] tokens = new int[0];
      int blockSize = 0;
      Integer loraId = null;
      String medium = null;
      String loraName = null;
      List<List<Object>> extra = null;
      for (int i = 0; i < n; i++) {
        String k = u.unpackString();
        switch (k) {
          case "type" -> type = u.unpackString();
          case "block_hashes" -> hashes = hashList(u);
          case "parent_block_hash" -> parent = nullableHashValue(u);
          case "token_ids" -> tokens = intList(u);
          case "block_size" -> blockSize = u.unpackInt();
          case "lora_id" -> loraId = nullableIntValue(u);
          case "medium" -> medium = nullableStringValue(u);
          case "lora_name" -> loraName = nullableStringValue(u);
          case "extra_keys" -> extra = extraKeysValue(u);
          default -> u.skipValue();
        }
      }
      if (type == null) {
        return null;
      }
      return switch (type) {
        case "BlockStored" ->
            new KvEvent.BlockStored(
                hashes, parent, tokens, blockSize, loraId, medium, loraName, extra);
        case "BlockRemoved" -> new KvEvent.BlockRemoved(hashes, medium);
        case "AllBlocksCleared" -> new KvEvent.AllBlocksCleared();
        default -> null;
      };
    }
    u.skipValue();
    return null;
  }

  private static long[] hashList(MessageUnpacker u) throws IOException {
    int n = u.unpackArrayHeader();
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      out[i] = hashValue(u);
    }
    return out;
  }

  private static long hashValue(MessageUnpacker u) throws IOException {
    MessageFormat f = u.getNextFormat();
    if (f.getValueType() == ValueType.INTEGER) {
      if (f == MessageFormat.UINT64) {
        return u.unpackBigInteger().longValue(); // low 64 bits
      }
      return u.unpackLong();
    }
    if (f.getValueType() == ValueType.BINARY || f.getValueType() == ValueType.STRING) {
      int len =
          f.getValueType() == ValueType.BINARY ? u.unpackBinaryHeader() : u.unpackRawStringHeader();
      byte[] b = u.readPayload(len);
      long v = 0;
      for (int i = Math.max(0, len - 8); i < len; i++) {
        v = (v << 8) | (b[i] & 0xff);
      }
      return v;
    }
    throw new IOException("block hash of unexpected type " + f);
  }

  private static Long nullableHashValue(MessageUnpacker u) throws IOException {
    if (u.tryUnpackNil()) {
      return null;
    }
    return hashValue(u);
  }

  private static int[] intList(MessageUnpacker u) throws IOException {
    int n = u.unpackArrayHeader();
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = u.unpackInt();
    }
    return out;
  }

  /** {@code list[tuple | None] | None}: one entry per block. */
  private static List<List<Object>> extraKeysValue(MessageUnpacker u) throws IOException {
    if (u.tryUnpackNil()) {
      return null;
    }
    int n = u.unpackArrayHeader();
    List<List<Object>> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      if (u.tryUnpackNil()) {
        out.add(null);
      } else if (u.getNextFormat().getValueType() == ValueType.ARRAY) {
        @SuppressWarnings("unchecked")
        List<Object> keys = (List<Object>) value(u);
        out.add(keys);
      } else {
        out.add(java.util.Collections.singletonList(value(u))); // a bare value: a 1-tuple
      }
    }
    return out;
  }

  /** A msgpack value as plain Java: String, Long, Double, Boolean, byte[], List or null. */
  private static Object value(MessageUnpacker u) throws IOException {
    MessageFormat f = u.getNextFormat();
    return switch (f.getValueType()) {
      case NIL -> {
        u.unpackNil();
        yield null;
      }
      case BOOLEAN -> u.unpackBoolean();
      case INTEGER -> f == MessageFormat.UINT64 ? u.unpackBigInteger().longValue() : u.unpackLong();
      case FLOAT -> u.unpackDouble();
      case STRING -> u.unpackString();
      case BINARY -> u.readPayload(u.unpackBinaryHeader());
      case ARRAY -> {
        int n = u.unpackArrayHeader();
        List<Object> l = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          l.add(value(u));
        }
        yield l;
      }
      default -> {
        u.skipValue(); // maps and extension types carry nothing routing reads
        yield null;
      }
    };
  }

  private static Integer nullableIntValue(MessageUnpacker u) throws IOException {
    return u.tryUnpackNil() ? null : u.unpackInt();
  }

  private static String nullableStringValue(MessageUnpacker u) throws IOException {
    return u.tryUnpackNil() ? null : u.unpackString();
  }

  private static double number(MessageUnpacker u) throws IOException {
    MessageFormat f = u.getNextFormat();
    return f.getValueType() == ValueType.FLOAT ? u.unpackDouble() : u.unpackLong();
  }
}
