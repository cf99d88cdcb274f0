// Which vision setup made an embedding. Embeddings from another embedder, another detector's
// landmarks or another alignment live in different spaces (a 5-point and a 68-point chip of the
// same face differ by more than two photos of one person do), so the roster records the setup of
// every stored embedding and training refuses to mix them.

export interface EmbeddingSetup {
  embedder: string;
  detector: string;
  alignment: string;
}

/** "faceRecognitionNet/mtcnn/landmarks68": what the roster stores as embedded_with. */
export function embeddingSetupKey(s: EmbeddingSetup): string {
  return `${s.embedder}/${s.detector}/${s.alignment}`;
}
