// One TCP connection of an established link, as the reactor drives it. A stream either carries this
// side's requests out and their answers back (requester side), or the peer's requests in and our
// answers out (serving side); heartbeats travel on the first requester stream.
#ifndef DD_HOST_LINK_STREAM_H_
#define DD_HOST_LINK_STREAM_H_

#include <cstdint>
#include <memory>

#include "frame_assembler.h"
#include "output_queue.h"
#include "payload_sink.h"
#include "unique_fd.h"

namespace dd::host {
struct LinkStream {
  LinkStream(UniqueFd socket, bool carries_our_requests, size_t stream_index)
      : fd(std::move(socket)), ours(carries_our_requests), index(stream_index) {}

  UniqueFd fd;
  const bool ours;     // true: our requests go out here; false: the peer's requests come in
  const size_t index;  // position among the link's streams of the same kind
  FrameAssembler rx;
  PayloadSink payload;
  OutputQueue out;
  uint32_t payload_request = 0;     // requester side: the request whose answer bytes `payload` reads
  std::shared_ptr<void> payload_keep;  // serving side: the lease of the cache a write lands in
  uint32_t payload_answer = 0;      // serving side: the request to answer once the write's bytes are in
  uint32_t payload_status = 0;      // serving side: its status (a refused write's bytes are skipped)
  std::string payload_detail;
  uint32_t watched = 0;             // the epoll events registered now
  int64_t last_io_ms = 0;           // the last time a byte moved either way on this stream
};
}  // namespace dd::host

#endif  // DD_HOST_LINK_STREAM_H_
