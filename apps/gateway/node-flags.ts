/**
 * V8 flags the gateway process runs with (package.json `start`, the Dockerfile's CMD; a unit test
 * keeps those in step with this list, and the RAS latency bench starts its responder with it).
 *
 * Why a fixed 16 MB young generation: V8 starts it at 1 MB and grows it only when many objects
 * survive. The gateway's per-message garbage (decoded RAS/SIP, buffers) dies young, so the young
 * generation stayed small and was collected ~5 times a second at 5,000 LRQ/s, each pause delaying
 * the datagrams queued behind it. At 16 MB the scavenges are ~4x rarer and no longer; measured in
 * `npm run bench -- h323-ras` (docs/status.md).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--min-semi-space-size=16', '--max-semi-space-size=16'];
