#include "peer_unlink.h"

#include "error_detail.h"
#include "frame_assembler.h"
#include "handshake_client.h"
#include "llm_datadist/llm_datadist.h"
#include "socket_io.h"
#include "wire_format.h"

namespace dd::host {
using namespace llm_datadist;

ge::Status RequestPeerUnlink(const EngineState &state, const std::string &ip, uint16_t port, const Deadline &deadline,
                             std::string &why, bool &answered) {
  answered = false;
  UniqueFd fd;
  switch (ConnectTcp(ip, port, deadline, fd, why)) {
    case ConnectStatus::kConnected: break;
    case ConnectStatus::kBadAddress: return LLM_PARAM_INVALID;
    case ConnectStatus::kTimeout: return LLM_TIMEOUT;
    case ConnectStatus::kFailed: return LLM_UNLINK_FAILED;
  }
  const HandshakeOpening opening = OpenHandshake(state, fd.get(), HandshakePurpose::kUnlink, LLM_UNLINK_FAILED, deadline);
  if (opening.status != LLM_SUCCESS) {
    why = opening.why;
    return opening.status;
  }
  ProofMessage proof = ClientProof(state, opening.transcript);
  std::vector<uint8_t> frame;
  EncodeProof(proof, frame);
  const IoResult io = SendBuffer(fd.get(), frame.data(), frame.size(), deadline);
  if (io.status != IoStatus::kOk) {
    why = DescribeIo(io, "unlink request");
    return io.status == IoStatus::kTimeout ? LLM_TIMEOUT : LLM_FAILED;
  }
  FrameAssembler rx;
  const FrameAssembler::State state_read = rx.PumpUntil(fd.get(), deadline, why);
  if (state_read == FrameAssembler::State::kIncomplete) {
    why = "the peer did not answer the unlink in time";
    return LLM_TIMEOUT;
  }
  ResultMessage result;
  if (state_read != FrameAssembler::State::kComplete || rx.header().type != FrameType::kResult ||
      !DecodeResult(rx.body().data(), rx.body().size(), result, why)) {
    why = "no answer to the unlink: " + (why.empty() ? std::string("peer closed the connection") : why);
    return LLM_FAILED;
  }
  answered = true;
  if (result.status != LLM_SUCCESS) {
    why = "peer refused the unlink: " + result.detail;
    return ReturnedByV2(result.status) ? result.status : LLM_FAILED;
  }
  return LLM_SUCCESS;
}
}  // namespace dd::host
