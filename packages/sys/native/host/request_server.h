// The serving side of one link, on the reactor thread: every request the peer sends is decoded and
// checked completely (the cache is in the table this link fetched, still registered, bound to the
// link, and every segment lies inside its tensor) before any byte of memory is touched. A read's
// answer is queued as a header plus iovecs into the registered memory, leased until sent; a
// write's bytes are received straight into place; refusals carry a status and a reason, and a
// refused write's bytes are skipped.
#ifndef DD_HOST_REQUEST_SERVER_H_
#define DD_HOST_REQUEST_SERVER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster_link.h"
#include "engine_state.h"
#include "link_stream.h"

namespace dd::host {
class RequestServer {
 public:
  RequestServer(EngineState &state, ClusterLink &link) : state_(state), link_(link) {}

  // The frame complete in `stream.rx` is the peer's; false (with `why`) when it breaks the protocol.
  bool OnFrame(LinkStream &stream, std::string &why);
  // The bytes of the write being received on `stream` are in (or skipped): its answer is queued.
  void PayloadDone(LinkStream &stream);
  // Revokes whose answers waited for this side's transfers on the cache can be answered now.
  void AnswerDeferredRevokes(const std::vector<uint32_t> &request_ids, const std::vector<LinkStream *> &streams);

 private:
  bool OnBlocks(LinkStream &stream, bool write, std::string &why);
  void Answer(LinkStream &stream, uint32_t request_id, const ResultMessage &result);

  EngineState &state_;
  ClusterLink &link_;
  BlockRequest request_;                    // scratch, reused between requests
  std::map<uint32_t, size_t> revokes_;      // deferred revoke → the stream it came on
};
}  // namespace dd::host

#endif  // DD_HOST_REQUEST_SERVER_H_
