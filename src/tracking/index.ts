// Face tracking: one import for the pipeline. Per frame, in this order:
//   1. shotCut.push(frame).cut        → tracker.cut()
//   2. plan = tracker.plan(faces, frame)
//   3. embed + classify faces[plan.embed], set inputs[i].prediction
//   4. tracks = tracker.update(inputs, frame); ended = tracker.takeEnded()
export { assign, iou, iouCost, minCostAssignment, type AssignmentResult, type CostMatrix } from './assignment.ts';
export { associate, type Association, type AssocDetection, type AssocTrack, type MatchPass } from './associate.ts';
export {
  IdentityEvidence,
  type CandidateEvidence,
  type EvidencePrediction,
  type IdentityState,
  type NameLookup,
  type TrackIdentity,
} from './identity.ts';
export { BoxKalman, type PredictOptions } from './kalman.ts';
export * from './options.ts';
export { colourHistogram, histogramDistance, ShotCutDetector, type FrameLike, type HistogramOptions, type ShotCutResult } from './shotCut.ts';
export {
  Tracker,
  type EmbeddingPlan,
  type EndedTrack,
  type EndReason,
  type FrameInfo,
  type TrackerOptions,
  type TrackInput,
  type TrackSnapshot,
  type TrackState,
} from './tracker.ts';
