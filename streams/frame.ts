/** One decoded frame, alive only between the decoder and the detector's exit. */
export interface Frame {
  /** Position among the frames the source emitted (sampled frames, not the clip's native frames). */
  index: number;
  /** Presentation time from the stream, in seconds from its start (live: from the camera's start). */
  ptsSeconds: number;
  width: number;
  height: number;
  /** Packed RGB24, width * height * 3 bytes. Zero-filled by the drop stage once the detector returns. */
  pixels: Uint8Array;
}

/** What survives the detector: the frame's time and what was seen, never a pixel. */
export interface AnalysedFrame {
  index: number;
  ptsSeconds: number;
  detections: import('../models/detection.ts').Detection[];
  /**
   * The motion gate (stages/motion.ts) kept the detector away: the picture had not changed since the last frame the
   * detector saw, so what it found there still holds. `detections` is empty; it does not mean "nothing there".
   */
  skipped?: true;
}
