/** File name extensions `expnet predict` sends to the video path (ffmpeg reads many more: name them directly). */
import { extname } from 'node:path';

export const VIDEO_EXTENSIONS: ReadonlySet<string> = new Set([
  '.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.mpg', '.mpeg', '.ts', '.mts', '.m2ts', '.wmv', '.flv', '.3gp', '.ogv', '.y4m',
  // audio files go the same way, to be refused as audio-only by name
  '.m4a', '.mp3', '.wav', '.aac', '.flac', '.opus', '.oga',
]);

/** True when the name has a video extension (case-insensitive), or is a stream URL ffmpeg reads. */
export function isVideoFile(name: string): boolean {
  return VIDEO_EXTENSIONS.has(extname(name).toLowerCase()) || /^(rtsp|rtmp|srt|udp|tcp|https?):\/\//i.test(name);
}
