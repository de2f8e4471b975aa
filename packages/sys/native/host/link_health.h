// dd's link-health extension on the host backend (headers/dd/link_health.h): the state of the
// links an engine holds, read from what the backend already watches (the reactor marks a link
// broken when its peer closes or resets a connection, sends no byte for max(3 heartbeats, 1 s) or
// breaks the protocol; a transfer when it fails), without touching the network.
// An extension call names its engine by the LlmDataDist handle; only handles of live engines,
// listed here by their constructors, are accepted, so a stale or forged one is refused, not followed.
#ifndef DD_HOST_LINK_HEALTH_H_
#define DD_HOST_LINK_HEALTH_H_

namespace llm_datadist {
class LlmDataDist;
class LlmDataDistImpl;
}  // namespace llm_datadist

namespace dd::host {
// Lists `engine` (whose calls `impl` runs) until UnlistEngine; called by its constructor.
void ListEngine(const llm_datadist::LlmDataDist *engine, llm_datadist::LlmDataDistImpl *impl);
// Called by its destructor; waits for an extension call that is reading the engine.
void UnlistEngine(const llm_datadist::LlmDataDist *engine);
}  // namespace dd::host

#endif  // DD_HOST_LINK_HEALTH_H_
