/**
 * One video through the recognizer: ffmpeg's frames (videoSource.ts) → the same detect→align→classify pipeline
 * as photos → face tracks and smoothed probabilities (faceTracker.ts). `for await (const frame of run)` yields a
 * result per sampled frame; `run.summary()` gives the per-track totals so far (complete after the loop).
 */
import { FaceTracker, largestFace, type FaceTrackerOptions, type TrackedFace, type TrackSummary } from './faceTracker.js';
import { KeyframeFaces, type FramePipeline, type KeyframeOptions } from './keyframeFaces.js';
import type { RgbPixels } from './readImage.js';
import { expectedFrames, probeVideo, sampling, videoFrames, type VideoInfo, type VideoSourceOptions } from './videoSource.js';

export interface VideoOptions extends VideoSourceOptions, FaceTrackerOptions, KeyframeOptions {
  /** 'all' (default): every face of every frame; 'largest': only the largest face of each frame. */
  faces?: 'all' | 'largest';
  /** Keep each frame's pixels in its result (`image`; for annotating). Default false. */
  keepImages?: boolean;
}

export interface VideoFrameResult {
  /** 0, 1, 2 … over the sampled frames. */
  index: number;
  /** Seconds from the start of the clip. */
  time: number;
  /** The source frame at that time. */
  frame: number;
  width: number;
  height: number;
  faces: TrackedFace[];
  /** The frame's pixels (only with keepImages). */
  image?: RgbPixels;
}

export class VideoRun implements AsyncIterable<VideoFrameResult> {
  readonly tracker: FaceTracker;
  /** Frames seen and frames the detector ran on (`detectEvery`). */
  readonly keyframes: KeyframeFaces;
  private probed: VideoInfo | null = null;
  private rate = 0;

  constructor(
    readonly file: string,
    pipeline: FramePipeline,
    private readonly options: VideoOptions = {},
  ) {
    this.tracker = new FaceTracker({ smoothing: 'ema', ...options });
    this.keyframes = new KeyframeFaces(pipeline, options);
  }

  /** ffprobe's facts about the clip (also done by the loop; call it first for sizes and frame counts). */
  async info(): Promise<VideoInfo> {
    if (this.probed === null) {
      this.probed = await probeVideo(this.file, this.options);
      this.rate = sampling(this.probed, this.options).fps;
    }
    return this.probed;
  }

  /** Frames the loop will yield (null when the clip's duration is unknown). */
  async expectedFrames(): Promise<number | null> {
    return expectedFrames(await this.info(), this.options);
  }

  /** The sample rate, frames/s. */
  async fps(): Promise<number> {
    await this.info();
    return this.rate;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<VideoFrameResult, void, undefined> {
    const info = await this.info();
    const frames = videoFrames(this.file, this.options, info);
    try {
      // one frame of look-ahead: ffmpeg decodes the next frame while the nets run on this one
      let next = frames.next();
      for (;;) {
        const r = await next;
        if (r.done === true) break;
        next = frames.next();
        // a decoding error of the look-ahead is thrown when it is awaited, not while this frame is processed
        next.catch(() => undefined);
        const f = r.value;
        const found = await this.keyframes.next(f.image);
        const faces = this.tracker.update(this.options.faces === 'largest' ? largestFace(found) : found, f.time);
        yield { index: f.index, time: f.time, frame: f.frame, width: f.image.width, height: f.image.height, faces, ...(this.options.keepImages === true ? { image: f.image } : {}) };
      }
    } finally {
      await frames.return(undefined);
    }
  }

  /** Per-track totals of the frames yielded so far. */
  summary(): TrackSummary[] {
    return this.tracker.summary(this.rate > 0 ? 1 / this.rate : 0);
  }
}

