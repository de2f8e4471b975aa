// Zero-copy on one host (docs/design/zero-copy.md): a cache in dd's memory files (aclrtMallocHost,
// aclrtMalloc) is mapped by a same-host peer, which then moves bytes with memory copies; memory
// registered by address keeps process_vm_readv/writev. The mappings go when the cache is revoked
// or the link is unlinked, and only a dd memory file of the claimed size is ever mapped.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "acl/acl_rt.h"
#include "device_memory.h"
#include "engine_fixture.h"
#include "harness.h"
#include "peer_memory_files.h"
#include "wire_format.h"

using namespace ddtest;
using namespace dd::host;

namespace {
constexpr uint64_t kServer = 1;
constexpr uint64_t kClient = 2;
constexpr uint64_t kRows = 32;
constexpr uint64_t kRowBytes = 4096;
constexpr uint64_t kTensorBytes = kRows * kRowBytes;

// Mappings of dd memory files in this process (the allocations' own and the peers' ones).
int MemoryFileMappings() {
  std::ifstream maps("/proc/self/maps");
  int count = 0;
  for (std::string line; std::getline(maps, line);) {
    count += line.find(std::string("/memfd:") + kMemoryFileName) != std::string::npos ? 1 : 0;
  }
  return count;
}

uint8_t Byte(uint64_t row, uint64_t b) { return static_cast<uint8_t>(row * 31U + b * 7U + 1U); }

// A server engine with one cache in a memory file (aclrtMallocHost), and a client engine in this
// process with a cache in plain heap memory, linked.
struct MappedPair {
  MappedPair() : server(kServer, true), client(kClient, false, {}, LlmRole::kDecoder), local(2, kRows, kRowBytes) {
    const aclError init = aclInit(nullptr);
    REQUIRE(init == ACL_SUCCESS || init == ACL_ERROR_REPEAT_INITIALIZE);
    REQUIRE((aclrtSetDevice(0)) == (ACL_SUCCESS));
    void *p = nullptr;
    // Both tensors (one K/V layer) in one memory file: the second at an offset into it.
    REQUIRE((aclrtMallocHost(&p, 2 * kTensorBytes)) == (ACL_SUCCESS));
    remote = static_cast<uint8_t *>(p);
    for (uint64_t r = 0; r < 2 * kRows; ++r) {
      for (uint64_t b = 0; b < kRowBytes; ++b) {
        remote[r * kRowBytes + b] = Byte(r, b);
      }
    }
    HostCache shape(2, kRows, kRowBytes);
    REQUIRE_STATUS(server.engine->RegisterKvCache(shape.Desc(),
                                                  {reinterpret_cast<uintptr_t>(remote),
                                                   reinterpret_cast<uintptr_t>(remote + kTensorBytes)},
                                                  RegisterCfg{}, server_id),
                   LLM_SUCCESS);
    client_id = Register(*client.engine, local);
    REQUIRE_STATUS(Link(*client.engine, kServer, server.port), LLM_SUCCESS);
  }
  ~MappedPair() {
    client.engine->Finalize();
    server.engine->Finalize();
    aclrtFreeHost(remote);
  }
  TestEngine server;
  TestEngine client;
  HostCache local;
  uint8_t *remote = nullptr;
  int64_t server_id = 0;
  int64_t client_id = 0;
};
}  // namespace

DD_TEST(a_cache_in_a_memory_file_is_pulled_and_pushed_through_a_mapping) {
  if (const std::string why = SameHostPathUnavailable(); !why.empty()) {
    SKIP("needs the same-host path: " + why);
  }
  MappedPair p;
  const int before = MemoryFileMappings();
  REQUIRE_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), {3, 30, 7},
                                               {0, 1, 31}),
                 LLM_SUCCESS);
  // The server's file is now mapped again by the client's data path, once per tensor.
  CHECK_EQ(MemoryFileMappings(), before + 2);  // one per tensor
  for (uint64_t b = 0; b < kRowBytes; ++b) {
    REQUIRE(p.local.Row(0, 0)[b] == Byte(3, b));
    REQUIRE(p.local.Row(0, 1)[b] == Byte(30, b));
    REQUIRE(p.local.Row(0, 31)[b] == Byte(7, b));
    REQUIRE(p.local.Row(1, 0)[b] == Byte(kRows + 3, b));  // tensor 1, at an offset into the file
    REQUIRE(p.local.Row(1, 31)[b] == Byte(kRows + 7, b));
  }
  std::memset(p.local.Row(0, 5), 0xA7, kRowBytes);
  std::memset(p.local.Row(1, 5), 0xB8, kRowBytes);
  REQUIRE_STATUS(p.client.engine->PushKvBlocks(CacheWithId(p.client_id, 2), IndexOf(kServer, p.server_id), {5}, {12}),
                 LLM_SUCCESS);
  for (uint64_t b = 0; b < kRowBytes; ++b) {
    REQUIRE((p.remote[12 * kRowBytes + b]) == (0xA7));
    REQUIRE((p.remote[kTensorBytes + 12 * kRowBytes + b]) == (0xB8));
  }
  CHECK_EQ(p.remote[11 * kRowBytes], Byte(11, 0));  // the neighbours are untouched
  CHECK_EQ(p.remote[13 * kRowBytes], Byte(13, 0));
  // Unlinking drops the peer's table and with it the mapping, once the reactor lets go of the link.
  REQUIRE_STATUS(Unlink(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  CHECK(WaitUntil([&] { return MemoryFileMappings() == before; }, 2000));
}

DD_TEST(D7_unregistering_a_mapped_cache_unmaps_it_and_later_pulls_find_no_cache) {
  if (const std::string why = SameHostPathUnavailable(); !why.empty()) {
    SKIP("needs the same-host path: " + why);
  }
  MappedPair p;
  const int before = MemoryFileMappings();
  REQUIRE_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), {1}, {1}),
                 LLM_SUCCESS);
  CHECK_EQ(MemoryFileMappings(), before + 2);  // one per tensor
  // The revoke reaches the client, which drops the entry once no transfer holds it: the mapping goes.
  REQUIRE_STATUS(p.server.engine->UnregisterKvCache(p.server_id), LLM_SUCCESS);
  CHECK(WaitUntil([&] { return MemoryFileMappings() == before; }, 2000));
  // The server frees its memory; the client can no longer reach the cache at all.
  REQUIRE((aclrtFreeHost(p.remote)) == (ACL_SUCCESS));
  p.remote = nullptr;
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), {1}, {1}),
               LLM_KV_CACHE_NOT_EXIST);
}

DD_TEST(memory_registered_by_address_keeps_process_vm_and_maps_nothing) {
  if (const std::string why = SameHostPathUnavailable(); !why.empty()) {
    SKIP("needs the same-host path: " + why);
  }
  TestEngine server(kServer, true);
  TestEngine client(kClient, false, {}, LlmRole::kDecoder);
  HostCache remote(1, kRows, kRowBytes);
  remote.Fill(9);
  HostCache local(1, kRows, kRowBytes);
  const int64_t server_id = Register(*server.engine, remote);
  const int64_t client_id = Register(*client.engine, local);
  REQUIRE_STATUS(Link(*client.engine, kServer, server.port), LLM_SUCCESS);
  const int before = MemoryFileMappings();
  REQUIRE_STATUS(client.engine->PullKvBlocks(IndexOf(kServer, server_id), CacheWithId(client_id), {4}, {2}), LLM_SUCCESS);
  CHECK(local.RowEquals(0, 2, 9, 0, 4));
  CHECK_EQ(MemoryFileMappings(), before);
}

DD_TEST(only_a_dd_memory_file_of_the_claimed_size_is_mapped) {
  std::string why;
  // A pipe is no memory file.
  int fds[2];
  REQUIRE((::pipe(fds)) == (0));
  CHECK(MapMemoryFile(fds[0], 0, 4096, 4096, why) == nullptr);
  CHECK(why.find("not a dd memory file") != std::string::npos);
  ::close(fds[0]);
  ::close(fds[1]);
  // A memfd of another name is not dd's.
  const UniqueFd other(static_cast<int>(::memfd_create("not-dd", MFD_CLOEXEC)));
  REQUIRE(other);
  REQUIRE((::ftruncate(other.get(), 8192)) == (0));
  CHECK(MapMemoryFile(other.get(), 0, 4096, 8192, why) == nullptr);
  // dd's name, but a size the table did not claim, or a span past its end.
  const UniqueFd ours(static_cast<int>(::memfd_create(kMemoryFileName, MFD_CLOEXEC)));
  REQUIRE(ours);
  REQUIRE((::ftruncate(ours.get(), 8192)) == (0));
  CHECK(MapMemoryFile(ours.get(), 0, 4096, 16384, why) == nullptr);
  CHECK(why.find("size") != std::string::npos);
  CHECK(MapMemoryFile(ours.get(), 4096, 8192, 8192, why) == nullptr);
  CHECK(MapMemoryFile(ours.get(), 1, ~0ULL, 8192, why) == nullptr);
  // The right one maps, at the offset asked (not page-aligned), and sees the file's bytes.
  REQUIRE((::pwrite(ours.get(), "zero-copy", 9, 4100)) == (9));
  const std::unique_ptr<MappedSpan> span = MapMemoryFile(ours.get(), 4100, 100, 8192, why);
  REQUIRE(span != nullptr);
  CHECK(std::memcmp(span->data(), "zero-copy", 9) == 0);
}

DD_TEST(a_cache_table_span_that_does_not_hold_the_tensor_is_refused) {
  HostCache shape(1, kRows, kRowBytes);
  CacheTableEntry entry;
  entry.cache_id = 1;
  REQUIRE((BuildGeometry(0U, 1U, DT_UINT8, shape.Desc().shape, entry.geometry)) == (0U));
  entry.addrs = {0x10000};
  const uint64_t tensor = entry.geometry.tensor_bytes;
  struct Case {
    MemoryFileSpan span;
    bool ok;
  };
  for (const Case &c : {Case{{-1, 0, 0}, true}, Case{{7, 0, tensor}, true}, Case{{7, 4096, tensor + 4096}, true},
                        Case{{7, 1, tensor}, false}, Case{{-2, 0, tensor}, false},
                        Case{{7, ~0ULL - 10U, ~0ULL}, false}}) {
    entry.files = {c.span};
    std::vector<uint8_t> body;
    EncodeCacheTable({entry}, body);
    std::vector<CacheTableEntry> decoded;
    std::string why;
    CHECK_EQ(DecodeCacheTable(body.data(), body.size(), decoded, why), c.ok);
    if (c.ok && c.span.fd >= 0) {
      CHECK_EQ(decoded.at(0).files.at(0).offset, c.span.offset);
    }
  }
}

