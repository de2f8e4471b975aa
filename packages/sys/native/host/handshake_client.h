// The opening every client handshake shares (a link and a non-force unlink): HELLO with a fresh
// nonce, the server's CHALLENGE, and, when this engine holds dd.AuthSecret, the check of the
// server's proof before anything else is sent. Runs on the caller's thread with blocking I/O
// bounded by the call's deadline.
#ifndef DD_HOST_HANDSHAKE_CLIENT_H_
#define DD_HOST_HANDSHAKE_CLIENT_H_

#include <string>

#include "deadline.h"
#include "engine_state.h"
#include "frame_assembler.h"
#include "peer_auth.h"

namespace dd::host {
struct HandshakeOpening {
  ge::Status status = 0;
  std::string why;
  ChallengeMessage challenge;
  HandshakeTranscript transcript;
};

// Sends HELLO on `fd` and reads the CHALLENGE. A refusal carries the server's status; a server
// that cannot prove the secret (or has none while we do) is `auth_failure`.
HandshakeOpening OpenHandshake(const EngineState &state, int fd, HandshakePurpose purpose, ge::Status auth_failure,
                               const Deadline &deadline);

// The proof this side gives in `role` (empty without a secret).
std::string ProofOf(const EngineState &state, ProofRole role, const HandshakeTranscript &transcript);

// The client's PROOF as every handshake sends it: its proof and what the server learns of this engine.
ProofMessage ClientProof(const EngineState &state, const HandshakeTranscript &transcript);

// Reads one frame of `type` by `deadline`; a kResult frame instead is the server's refusal (its
// status, mapped to one V2 returns). A14: a socket or framing error is FAILED, a handshake that
// does not finish in time TIMEOUT (D8).
ge::Status ReadHandshakeFrame(int fd, FrameType type, const Deadline &deadline, FrameAssembler &rx, std::string &why);

// The status of a failed send during a handshake.
ge::Status SendStatus(const IoResult &io);
}  // namespace dd::host

#endif  // DD_HOST_HANDSHAKE_CLIENT_H_
