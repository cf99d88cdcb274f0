// The service levels tests hold the product to, by name: bounds far above what a healthy build
// takes on a loaded 2-core CI machine, so a miss means something blocks, not that it is slow.
// How fast things are is measured by the benches (npm run bench:*), never by unit tests.
export const SERVICE_LEVEL = {
  /** An operator's take or clear (a hotkey) shows on the graphics page. */
  operatorActionMs: 2000,
  /** A state pushed by the server shows on the graphics page. */
  graphicsUpdateMs: 2000,
  /** Longest event-loop stall while a retrain runs in its worker thread. */
  eventLoopLagMs: 1000,
  /** Slowest /healthz answer while a large roster CSV is imported. */
  healthzDuringImportMs: 1000,
  /** Training the classifier on the test roster. */
  trainingMs: 30_000,
} as const;
