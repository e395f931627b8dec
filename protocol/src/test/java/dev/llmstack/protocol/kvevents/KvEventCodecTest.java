package dev.llmstack.protocol.kvevents;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

class KvEventCodecTest {

  /** Bytes laid out as vLLM's msgspec encoder writes them (array_like=True, int hashes). */
  @Test
  void decodesVllmArrayLayout() throws IOException {
    MessageBufferPacker p = MessagePack.newDefaultBufferPacker();
    p.packArrayHeader(2).packDouble(1732400000.5);
    p.packArrayHeader(3);
    p.packArrayHeader(7).packString("BlockStored");
    p.packArrayHeader(2)
        .packLong(11)
        .packBigInteger(new java.math.BigInteger("18446744073709551615"));
    p.packNil();
    p.packArrayHeader(4).packInt(1).packInt(2).packInt(3).packInt(4);
    p.packInt(2).packNil().packString("GPU");
    p.packArrayHeader(3).packString("BlockRemoved");
    p.packArrayHeader(1).packLong(11);
    p.packString("GPU");
    p.packArrayHeader(1).packString("AllBlocksCleared");
    KvEvent.Batch b = KvEventCodec.decode(p.toByteArray());
    assertThat(b.timestamp()).isEqualTo(1732400000.5);
    assertThat(b.dataParallelRank()).isNull();
    assertThat(b.events()).hasSize(3);
    KvEvent.BlockStored s = (KvEvent.BlockStored) b.events().get(0);
    assertThat(s.blockHashes()).containsExactly(11L, -1L);
    assertThat(s.parentBlockHash()).isNull();
    assertThat(s.tokenIds()).containsExactly(1, 2, 3, 4);
    assertThat(s.blockSize()).isEqualTo(2);
    assertThat(s.medium()).isEqualTo("GPU");
    assertThat(((KvEvent.BlockRemoved) b.events().get(1)).blockHashes()).containsExactly(11L);
    assertThat(b.events().get(2)).isInstanceOf(KvEvent.AllBlocksCleared.class);
  }

  /** The newest vLLM: maps with a "type" tag, byte hashes, extra trailing fields it added. */
  @Test
  void decodesMapLayoutWithByteHashesAndUnknownFields() throws IOException {
    byte[] hash = new byte[32];
    hash[31] = 7;
    hash[24] = 1; // low 64 bits = 0x0100000000000007
    MessageBufferPacker p = MessagePack.newDefaultBufferPacker();
    p.packMapHeader(3).packString("ts").packDouble(5.0);
    p.packString("events").packArrayHeader(2);
    p.packMapHeader(6).packString("type").packString("BlockStored");
    p.packString("block_hashes").packArrayHeader(1).packBinaryHeader(32).writePayload(hash);
    p.packString("parent_block_hash").packBinaryHeader(32).writePayload(hash);
    p.packString("token_ids").packArrayHeader(2).packInt(9).packInt(8);
    p.packString("block_size").packInt(2);
    p.packString("group_idx").packInt(0);
    p.packMapHeader(1).packString("type").packString("SomethingNew");
    p.packString("data_parallel_rank").packInt(2);
    KvEvent.Batch b = KvEventCodec.decode(p.toByteArray());
    assertThat(b.dataParallelRank()).isEqualTo(2);
    assertThat(b.events()).hasSize(1);
    KvEvent.BlockStored s = (KvEvent.BlockStored) b.events().get(0);
    assertThat(s.blockHashes()).containsExactly(0x0100000000000007L);
    assertThat(s.parentBlockHash()).isEqualTo(0x0100000000000007L);
  }

  @Test
  void arrayEventsToleratesNewTrailingFieldsAndUnknownTags() throws IOException {
    MessageBufferPacker p = MessagePack.newDefaultBufferPacker();
    p.packArrayHeader(2).packDouble(1);
    p.packArrayHeader(2);
    p.packArrayHeader(11).packString("BlockStored");
    p.packArrayHeader(1).packLong(3);
    p.packLong(2);
    p.packArrayHeader(1).packInt(5);
    p.packInt(1)
        .packNil()
        .packString("CPU")
        .packString("adapter")
        .packNil()
        .packInt(0)
        .packString("full");
    p.packArrayHeader(2).packString("FutureEvent").packInt(1);
    KvEvent.Batch b = KvEventCodec.decode(p.toByteArray());
    assertThat(b.events()).hasSize(1);
    KvEvent.BlockStored s = (KvEvent.BlockStored) b.events().get(0);
    assertThat(s.medium()).isEqualTo("CPU");
    assertThat(s.loraName()).isEqualTo("adapter");
    assertThat(s.parentBlockHash()).isEqualTo(2L);
  }

  @Test
  void roundTripsInEveryLayout() {
    KvEvent.Batch batch =
        new KvEvent.Batch(
            12.25,
            List.of(
                new KvEvent.BlockStored(
                    new long[] {Long.MIN_VALUE, 42, -7},
                    99L,
                    new int[] {1, 2, 3},
                    1,
                    null,
                    "GPU",
                    null),
                new KvEvent.BlockRemoved(new long[] {-7}, "GPU"),
                new KvEvent.AllBlocksCleared()),
            3);
    for (KvEventCodec.Encoding e : KvEventCodec.Encoding.values()) {
      for (KvEventCodec.HashForm h : KvEventCodec.HashForm.values()) {
        KvEvent.Batch back = KvEventCodec.decode(KvEventCodec.encode(batch, e, h));
        assertThat(back.timestamp()).isEqualTo(12.25);
        assertThat(back.dataParallelRank()).isEqualTo(3);
        KvEvent.BlockStored s = (KvEvent.BlockStored) back.events().get(0);
        assertThat(s.blockHashes()).as(e + "/" + h).containsExactly(Long.MIN_VALUE, 42, -7);
        assertThat(s.parentBlockHash()).isEqualTo(99L);
        assertThat(s.tokenIds()).containsExactly(1, 2, 3);
        assertThat(((KvEvent.BlockRemoved) back.events().get(1)).blockHashes()).containsExactly(-7);
        assertThat(back.events().get(2)).isInstanceOf(KvEvent.AllBlocksCleared.class);
      }
    }
  }

  /** Newer vLLM appends extra_keys (one tuple or nil per block) after lora_name. */
  @Test
  void decodesPerBlockExtraKeys() throws IOException {
    MessageBufferPacker p = MessagePack.newDefaultBufferPacker();
    p.packArrayHeader(2).packDouble(1);
    p.packArrayHeader(1);
    p.packArrayHeader(10).packString("BlockStored");
    p.packArrayHeader(2).packLong(3).packLong(4);
    p.packNil();
    p.packArrayHeader(2).packInt(5).packInt(6);
    p.packInt(1).packNil().packString("GPU").packString("sql-lora");
    p.packArrayHeader(2);
    p.packArrayHeader(3).packString("sql-lora");
    p.packArrayHeader(2).packString("mm-hash").packInt(0);
    p.packString("tenant-a");
    p.packArrayHeader(1).packString("sql-lora");
    p.packInt(0);
    KvEvent.BlockStored s =
        (KvEvent.BlockStored) KvEventCodec.decode(p.toByteArray()).events().get(0);
    assertThat(s.extraKeys()).hasSize(2);
    assertThat(s.extraKeys().get(0))
        .containsExactly("sql-lora", List.of("mm-hash", 0L), "tenant-a");
    assertThat(ExtraKeys.loraName(s)).isEqualTo("sql-lora");
    assertThat(ExtraKeys.cacheSalt(s)).isEqualTo("tenant-a");
  }

  @Test
  void roundTripsExtraKeysInBothLayouts() {
    List<List<Object>> extra = new java.util.ArrayList<>();
    extra.add(List.of("tenant-a"));
    extra.add(null);
    KvEvent.BlockStored stored =
        new KvEvent.BlockStored(
            new long[] {1, 2}, null, new int[] {7, 8}, 1, null, "GPU", null, extra);
    for (KvEventCodec.Encoding e : KvEventCodec.Encoding.values()) {
      KvEvent.Batch back =
          KvEventCodec.decode(
              KvEventCodec.encode(
                  new KvEvent.Batch(0, List.of(stored), null), e, KvEventCodec.HashForm.INT64));
      KvEvent.BlockStored s = (KvEvent.BlockStored) back.events().get(0);
      assertThat(s.loraName()).as(e.name()).isNull();
      assertThat(s.extraKeys()).as(e.name()).isEqualTo(extra);
      assertThat(ExtraKeys.cacheSalt(s)).isEqualTo("tenant-a");
      assertThat(ExtraKeys.loraName(s)).isNull();
    }
  }

  @Test
  void extraKeysTellLoraFromSalt() {
    // A chain continuing a parent carries no salt; its strings are the LoRA name.
    List<List<Object>> loraOnly = List.of(List.of("sql-lora"));
    KvEvent.BlockStored child =
        new KvEvent.BlockStored(new long[] {1}, 9L, new int[] {1}, 1, null, null, null, loraOnly);
    assertThat(ExtraKeys.loraName(child)).isEqualTo("sql-lora");
    assertThat(ExtraKeys.cacheSalt(child)).isNull();
    // A single root block with one string: a salt, unless a LoRA id says the request had one.
    KvEvent.BlockStored root =
        new KvEvent.BlockStored(new long[] {1}, null, new int[] {1}, 1, null, null, null, loraOnly);
    assertThat(ExtraKeys.loraName(root)).isNull();
    assertThat(ExtraKeys.cacheSalt(root)).isEqualTo("sql-lora");
    KvEvent.BlockStored withId =
        new KvEvent.BlockStored(new long[] {1}, null, new int[] {1}, 1, 3, null, null, loraOnly);
    assertThat(ExtraKeys.loraName(withId)).isEqualTo("sql-lora");
    assertThat(ExtraKeys.cacheSalt(withId)).isNull();
    // LoRA and salt on the first block, LoRA alone after it.
    KvEvent.BlockStored both =
        new KvEvent.BlockStored(
            new long[] {1, 2},
            null,
            new int[] {1, 2},
            1,
            null,
            null,
            null,
            List.of(List.of("sql-lora", "tenant-b"), List.of("sql-lora")));
    assertThat(ExtraKeys.loraName(both)).isEqualTo("sql-lora");
    assertThat(ExtraKeys.cacheSalt(both)).isEqualTo("tenant-b");
  }
}
